CREATE SCHEMA "orders";
--> statement-breakpoint
CREATE SCHEMA "payments";
--> statement-breakpoint
-- The migrator keeps its own table in "ops", so the schema may already be there.
CREATE SCHEMA IF NOT EXISTS "ops";
--> statement-breakpoint
CREATE TABLE "inventory"."reservations" (
	"order_id" uuid NOT NULL,
	"sku" text NOT NULL,
	"location" text NOT NULL,
	"quantity" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"released_at" timestamp with time zone,
	"committed_at" timestamp with time zone,
	CONSTRAINT "reservations_order_id_sku_location_pk" PRIMARY KEY("order_id","sku","location"),
	CONSTRAINT "reservations_quantity" CHECK ("inventory"."reservations"."quantity" > 0),
	CONSTRAINT "reservations_settled_once" CHECK ("inventory"."reservations"."released_at" IS NULL OR "inventory"."reservations"."committed_at" IS NULL)
);
--> statement-breakpoint
CREATE TABLE "orders"."cart_lines" (
	"cart_id" uuid NOT NULL,
	"sku" text NOT NULL,
	"quantity" integer NOT NULL,
	"added_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "cart_lines_cart_id_sku_pk" PRIMARY KEY("cart_id","sku"),
	CONSTRAINT "cart_lines_quantity" CHECK ("orders"."cart_lines"."quantity" BETWEEN 1 AND 999)
);
--> statement-breakpoint
CREATE TABLE "orders"."carts" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"account_id" uuid,
	"token_hash" text,
	"currency" char(3) NOT NULL,
	"status" text DEFAULT 'open' NOT NULL,
	"last_activity_at" timestamp with time zone DEFAULT now() NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "carts_token_hash_unique" UNIQUE("token_hash"),
	CONSTRAINT "carts_status" CHECK ("orders"."carts"."status" IN ('open', 'checked_out', 'merged', 'expired')),
	CONSTRAINT "carts_has_owner" CHECK ("orders"."carts"."account_id" IS NOT NULL OR "orders"."carts"."token_hash" IS NOT NULL)
);
--> statement-breakpoint
CREATE TABLE "orders"."order_lines" (
	"order_id" uuid NOT NULL,
	"sku" text NOT NULL,
	"title" text NOT NULL,
	"quantity" integer NOT NULL,
	"unit_amount" bigint NOT NULL,
	"line_amount" bigint NOT NULL,
	"tax_amount" bigint NOT NULL,
	CONSTRAINT "order_lines_order_id_sku_pk" PRIMARY KEY("order_id","sku"),
	CONSTRAINT "order_lines_quantity" CHECK ("orders"."order_lines"."quantity" > 0)
);
--> statement-breakpoint
CREATE TABLE "orders"."orders" (
	"id" uuid PRIMARY KEY NOT NULL,
	"cart_id" uuid NOT NULL,
	"account_id" uuid NOT NULL,
	"status" text NOT NULL,
	"status_reason" text,
	"currency" char(3) NOT NULL,
	"subtotal_amount" bigint NOT NULL,
	"shipping_amount" bigint NOT NULL,
	"discount_amount" bigint DEFAULT 0 NOT NULL,
	"tax_amount" bigint NOT NULL,
	"total_amount" bigint NOT NULL,
	"shipping_method" text NOT NULL,
	"shipping_country" char(2) NOT NULL,
	"shipping_address_enc" text,
	"workflow_id" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "orders_cart_id_unique" UNIQUE("cart_id"),
	CONSTRAINT "orders_status" CHECK ("orders"."orders"."status" IN ('PENDING', 'PAYMENT_PENDING', 'AWAITING_CONFIRMATION', 'FRAUD_REVIEW', 'PAID', 'CONFIRMED', 'CANCELLED', 'FAILED')),
	CONSTRAINT "orders_amounts" CHECK ("orders"."orders"."subtotal_amount" >= 0 AND "orders"."orders"."shipping_amount" >= 0 AND "orders"."orders"."tax_amount" >= 0 AND "orders"."orders"."discount_amount" >= 0 AND "orders"."orders"."total_amount" >= 0)
);
--> statement-breakpoint
CREATE TABLE "orders"."status_history" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"order_id" uuid NOT NULL,
	"status" text NOT NULL,
	"reason" text,
	"occurred_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "payments"."ledger_entries" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"order_id" uuid NOT NULL,
	"kind" text NOT NULL,
	"amount" bigint NOT NULL,
	"currency" char(3) NOT NULL,
	"idempotency_key" text NOT NULL,
	"provider_reference" text,
	"occurred_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "ledger_entries_idempotency_key_unique" UNIQUE("idempotency_key"),
	CONSTRAINT "ledger_kind" CHECK ("payments"."ledger_entries"."kind" IN ('authorised', 'captured', 'voided', 'refunded')),
	CONSTRAINT "ledger_amount" CHECK ("payments"."ledger_entries"."amount" > 0)
);
--> statement-breakpoint
CREATE TABLE "payments"."payments" (
	"order_id" uuid PRIMARY KEY NOT NULL,
	"provider" text NOT NULL,
	"provider_payment_id" text,
	"currency" char(3) NOT NULL,
	"amount" bigint NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"failure_reason" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "payments_status" CHECK ("payments"."payments"."status" IN ('pending', 'requires_action', 'authorised', 'captured', 'voided', 'failed')),
	CONSTRAINT "payments_amount" CHECK ("payments"."payments"."amount" > 0)
);
--> statement-breakpoint
CREATE TABLE "payments"."refunds" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"order_id" uuid NOT NULL,
	"amount" bigint NOT NULL,
	"currency" char(3) NOT NULL,
	"reason" text,
	"status" text DEFAULT 'requested' NOT NULL,
	"idempotency_key" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "refunds_idempotency_key_unique" UNIQUE("idempotency_key"),
	CONSTRAINT "refunds_amount" CHECK ("payments"."refunds"."amount" > 0),
	CONSTRAINT "refunds_status" CHECK ("payments"."refunds"."status" IN ('requested', 'succeeded', 'failed'))
);
--> statement-breakpoint
CREATE TABLE "ops"."idempotency_keys" (
	"scope" text NOT NULL,
	"key" text NOT NULL,
	"request_hash" text NOT NULL,
	"status" text DEFAULT 'in_progress' NOT NULL,
	"response_status" integer,
	"response_headers" jsonb,
	"response_body" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	CONSTRAINT "idempotency_keys_scope_key_pk" PRIMARY KEY("scope","key"),
	CONSTRAINT "idempotency_status" CHECK ("ops"."idempotency_keys"."status" IN ('in_progress', 'completed'))
);
--> statement-breakpoint
CREATE TABLE "ops"."webhook_inbox" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"provider" text NOT NULL,
	"event_id" text NOT NULL,
	"event_type" text NOT NULL,
	"payload" jsonb NOT NULL,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"delivered_at" timestamp with time zone,
	"attempts" integer DEFAULT 0 NOT NULL,
	"last_error" text,
	CONSTRAINT "webhook_inbox_status" CHECK ("ops"."webhook_inbox"."status" IN ('pending', 'delivered', 'orphaned'))
);
--> statement-breakpoint
ALTER TABLE "inventory"."stock_levels" ADD COLUMN "reserved" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "orders"."cart_lines" ADD CONSTRAINT "cart_lines_cart_id_carts_id_fk" FOREIGN KEY ("cart_id") REFERENCES "orders"."carts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "orders"."order_lines" ADD CONSTRAINT "order_lines_order_id_orders_id_fk" FOREIGN KEY ("order_id") REFERENCES "orders"."orders"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "orders"."status_history" ADD CONSTRAINT "status_history_order_id_orders_id_fk" FOREIGN KEY ("order_id") REFERENCES "orders"."orders"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "reservations_open_expiry_idx" ON "inventory"."reservations" USING btree ("expires_at") WHERE "inventory"."reservations"."released_at" IS NULL AND "inventory"."reservations"."committed_at" IS NULL;--> statement-breakpoint
CREATE INDEX "carts_account_open_idx" ON "orders"."carts" USING btree ("account_id") WHERE "orders"."carts"."status" = 'open';--> statement-breakpoint
CREATE INDEX "carts_idle_idx" ON "orders"."carts" USING btree ("last_activity_at") WHERE "orders"."carts"."status" = 'open';--> statement-breakpoint
CREATE INDEX "orders_account_idx" ON "orders"."orders" USING btree ("account_id","created_at");--> statement-breakpoint
CREATE INDEX "orders_status_idx" ON "orders"."orders" USING btree ("status","updated_at");--> statement-breakpoint
CREATE INDEX "status_history_order_idx" ON "orders"."status_history" USING btree ("order_id","id");--> statement-breakpoint
CREATE INDEX "ledger_order_idx" ON "payments"."ledger_entries" USING btree ("order_id","id");--> statement-breakpoint
CREATE UNIQUE INDEX "payments_provider_id_idx" ON "payments"."payments" USING btree ("provider","provider_payment_id");--> statement-breakpoint
CREATE INDEX "refunds_order_idx" ON "payments"."refunds" USING btree ("order_id");--> statement-breakpoint
CREATE INDEX "idempotency_expires_idx" ON "ops"."idempotency_keys" USING btree ("expires_at");--> statement-breakpoint
CREATE UNIQUE INDEX "webhook_inbox_event_idx" ON "ops"."webhook_inbox" USING btree ("provider","event_id");--> statement-breakpoint
CREATE INDEX "webhook_inbox_pending_idx" ON "ops"."webhook_inbox" USING btree ("id") WHERE "ops"."webhook_inbox"."status" = 'pending';--> statement-breakpoint
ALTER TABLE "inventory"."stock_levels" ADD CONSTRAINT "stock_reserved_non_negative" CHECK ("inventory"."stock_levels"."reserved" >= 0);