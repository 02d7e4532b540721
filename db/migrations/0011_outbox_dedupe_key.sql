ALTER TABLE "notifications"."outbox" ADD COLUMN "dedupe_key" text;--> statement-breakpoint
ALTER TABLE "notifications"."outbox" ADD CONSTRAINT "outbox_dedupe_key_unique" UNIQUE("dedupe_key");