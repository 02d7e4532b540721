CREATE TABLE "notifications"."in_app_messages" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"outbox_id" bigint NOT NULL,
	"account_id" uuid NOT NULL,
	"order_id" uuid,
	"event" text NOT NULL,
	"subject" text NOT NULL,
	"body" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "notifications"."preferences" (
	"account_id" uuid NOT NULL,
	"category" text NOT NULL,
	"channel" text NOT NULL,
	"enabled" boolean NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "preferences_account_id_category_channel_pk" PRIMARY KEY("account_id","category","channel"),
	CONSTRAINT "preferences_category" CHECK ("notifications"."preferences"."category" IN ('order_updates', 'returns_and_refunds')),
	CONSTRAINT "preferences_channel" CHECK ("notifications"."preferences"."channel" IN ('email', 'in_app'))
);
--> statement-breakpoint
ALTER TABLE "notifications"."outbox" DROP CONSTRAINT "outbox_channel";--> statement-breakpoint
ALTER TABLE "notifications"."outbox" ADD COLUMN "parent_id" bigint;--> statement-breakpoint
ALTER TABLE "notifications"."outbox" ADD COLUMN "order_id" uuid;--> statement-breakpoint
ALTER TABLE "notifications"."outbox" ADD COLUMN "state" text DEFAULT 'pending' NOT NULL;--> statement-breakpoint
ALTER TABLE "notifications"."outbox" ADD COLUMN "next_attempt_at" timestamp with time zone DEFAULT now() NOT NULL;--> statement-breakpoint
ALTER TABLE "notifications"."outbox" ADD COLUMN "lease_until" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "notifications"."outbox" ADD COLUMN "message_id" text;--> statement-breakpoint
UPDATE "notifications"."outbox" SET "state" = CASE WHEN "last_error" = 'discarded' THEN 'skipped' ELSE 'sent' END WHERE "delivered_at" IS NOT NULL;--> statement-breakpoint
UPDATE "notifications"."outbox" SET "state" = 'dead' WHERE "delivered_at" IS NULL AND "attempts" >= 10;--> statement-breakpoint
CREATE UNIQUE INDEX "in_app_messages_outbox_key" ON "notifications"."in_app_messages" USING btree ("outbox_id");--> statement-breakpoint
CREATE INDEX "in_app_messages_account_idx" ON "notifications"."in_app_messages" USING btree ("account_id","id");--> statement-breakpoint
CREATE INDEX "in_app_messages_order_idx" ON "notifications"."in_app_messages" USING btree ("order_id","id");--> statement-breakpoint
CREATE INDEX "outbox_due_idx" ON "notifications"."outbox" USING btree ("next_attempt_at") WHERE "notifications"."outbox"."state" IN ('pending', 'sending');--> statement-breakpoint
CREATE INDEX "outbox_parent_idx" ON "notifications"."outbox" USING btree ("parent_id");--> statement-breakpoint
ALTER TABLE "notifications"."outbox" ADD CONSTRAINT "outbox_state" CHECK ("notifications"."outbox"."state" IN ('pending', 'sending', 'sent', 'skipped', 'dead', 'expanded'));--> statement-breakpoint
ALTER TABLE "notifications"."outbox" ADD CONSTRAINT "outbox_channel" CHECK ("notifications"."outbox"."channel" IN ('email', 'in_app', 'event'));