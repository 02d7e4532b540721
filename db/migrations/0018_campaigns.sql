CREATE TABLE "marketing"."campaign_deliveries" (
	"campaign_id" uuid NOT NULL,
	"account_id" uuid NOT NULL,
	"run_key" text NOT NULL,
	"variant" char(1) NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"reason" text,
	"decided_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "campaign_deliveries_campaign_id_account_id_pk" PRIMARY KEY("campaign_id","account_id"),
	CONSTRAINT "campaign_deliveries_status" CHECK ("marketing"."campaign_deliveries"."status" IN ('pending', 'sent', 'skipped_no_consent', 'failed', 'cancelled')),
	CONSTRAINT "campaign_deliveries_variant" CHECK ("marketing"."campaign_deliveries"."variant" IN ('A', 'B'))
);
--> statement-breakpoint
CREATE TABLE "marketing"."campaigns" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"channel" text NOT NULL,
	"template" jsonb NOT NULL,
	"variant_template" jsonb,
	"variant_percent" integer,
	"audience" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"starts_at" timestamp with time zone,
	"recurrence" jsonb,
	"ends_at" timestamp with time zone,
	"rate_per_minute" integer NOT NULL,
	"batch_size" integer NOT NULL,
	"status" text DEFAULT 'draft' NOT NULL,
	"paused" boolean DEFAULT false NOT NULL,
	"schedule_id" text,
	"current_workflow_id" text,
	"runs" integer DEFAULT 0 NOT NULL,
	"created_by" uuid,
	"launched_at" timestamp with time zone,
	"last_run_at" timestamp with time zone,
	"finished_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "campaigns_channel" CHECK ("marketing"."campaigns"."channel" IN ('email', 'in_app')),
	CONSTRAINT "campaigns_status" CHECK ("marketing"."campaigns"."status" IN ('draft', 'scheduled', 'running', 'completed', 'cancelled')),
	CONSTRAINT "campaigns_pace" CHECK ("marketing"."campaigns"."rate_per_minute" > 0 AND "marketing"."campaigns"."batch_size" > 0),
	CONSTRAINT "campaigns_variant" CHECK (("marketing"."campaigns"."variant_template" IS NULL) = ("marketing"."campaigns"."variant_percent" IS NULL) AND ("marketing"."campaigns"."variant_percent" IS NULL OR "marketing"."campaigns"."variant_percent" BETWEEN 1 AND 99)),
	CONSTRAINT "campaigns_window" CHECK ("marketing"."campaigns"."ends_at" IS NULL OR "marketing"."campaigns"."starts_at" IS NULL OR "marketing"."campaigns"."starts_at" < "marketing"."campaigns"."ends_at")
);
--> statement-breakpoint
ALTER TABLE "marketing"."campaign_deliveries" ADD CONSTRAINT "campaign_deliveries_campaign_id_campaigns_id_fk" FOREIGN KEY ("campaign_id") REFERENCES "marketing"."campaigns"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "campaign_deliveries_run_idx" ON "marketing"."campaign_deliveries" USING btree ("campaign_id","run_key","account_id");--> statement-breakpoint
CREATE INDEX "campaigns_status_idx" ON "marketing"."campaigns" USING btree ("status");