CREATE SCHEMA "marketing";
--> statement-breakpoint
CREATE TABLE "marketing"."customer_segments" (
	"account_id" uuid NOT NULL,
	"segment" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "customer_segments_account_id_segment_pk" PRIMARY KEY("account_id","segment")
);
--> statement-breakpoint
CREATE TABLE "marketing"."promotion_redemptions" (
	"promotion_id" uuid NOT NULL,
	"order_id" uuid NOT NULL,
	"account_id" uuid,
	"state" text DEFAULT 'reserved' NOT NULL,
	"amount" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "promotion_redemptions_promotion_id_order_id_pk" PRIMARY KEY("promotion_id","order_id"),
	CONSTRAINT "promotion_redemptions_state" CHECK ("marketing"."promotion_redemptions"."state" IN ('reserved', 'committed', 'released'))
);
--> statement-breakpoint
CREATE TABLE "marketing"."promotions" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"code" text,
	"priority" integer DEFAULT 0 NOT NULL,
	"stacking" text DEFAULT 'stackable' NOT NULL,
	"currency" char(3) NOT NULL,
	"effect" jsonb NOT NULL,
	"target" jsonb,
	"min_spend" integer,
	"segments" text[],
	"first_order_only" boolean DEFAULT false NOT NULL,
	"starts_at" timestamp with time zone,
	"ends_at" timestamp with time zone,
	"active" boolean DEFAULT true NOT NULL,
	"usage_limit" integer,
	"per_customer_limit" integer,
	"used" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "promotions_code_upper" CHECK ("marketing"."promotions"."code" = upper("marketing"."promotions"."code")),
	CONSTRAINT "promotions_stacking" CHECK ("marketing"."promotions"."stacking" IN ('exclusive', 'stackable')),
	CONSTRAINT "promotions_used" CHECK ("marketing"."promotions"."used" >= 0 AND ("marketing"."promotions"."usage_limit" IS NULL OR "marketing"."promotions"."used" <= "marketing"."promotions"."usage_limit")),
	CONSTRAINT "promotions_limits" CHECK (("marketing"."promotions"."usage_limit" IS NULL OR "marketing"."promotions"."usage_limit" > 0) AND ("marketing"."promotions"."per_customer_limit" IS NULL OR "marketing"."promotions"."per_customer_limit" > 0)),
	CONSTRAINT "promotions_window" CHECK ("marketing"."promotions"."starts_at" IS NULL OR "marketing"."promotions"."ends_at" IS NULL OR "marketing"."promotions"."starts_at" < "marketing"."promotions"."ends_at")
);
--> statement-breakpoint
ALTER TABLE "marketing"."promotion_redemptions" ADD CONSTRAINT "promotion_redemptions_promotion_id_promotions_id_fk" FOREIGN KEY ("promotion_id") REFERENCES "marketing"."promotions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "promotion_redemptions_customer_idx" ON "marketing"."promotion_redemptions" USING btree ("promotion_id","account_id") WHERE "marketing"."promotion_redemptions"."state" <> 'released';--> statement-breakpoint
CREATE INDEX "promotion_redemptions_order_idx" ON "marketing"."promotion_redemptions" USING btree ("order_id");--> statement-breakpoint
CREATE UNIQUE INDEX "promotions_code_idx" ON "marketing"."promotions" USING btree ("code");--> statement-breakpoint
CREATE INDEX "promotions_automatic_idx" ON "marketing"."promotions" USING btree ("currency") WHERE "marketing"."promotions"."code" IS NULL AND "marketing"."promotions"."active";