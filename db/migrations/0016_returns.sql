CREATE TABLE "fulfilment"."return_lines" (
	"return_id" uuid NOT NULL,
	"sku" text NOT NULL,
	"quantity" integer NOT NULL,
	"paid_amount" bigint NOT NULL,
	"accepted_quantity" integer,
	"rejected_quantity" integer,
	"restocked_at" timestamp with time zone,
	CONSTRAINT "return_lines_return_id_sku_pk" PRIMARY KEY("return_id","sku"),
	CONSTRAINT "return_lines_quantity" CHECK ("fulfilment"."return_lines"."quantity" > 0),
	CONSTRAINT "return_lines_paid" CHECK ("fulfilment"."return_lines"."paid_amount" >= 0),
	CONSTRAINT "return_lines_inspection" CHECK (("fulfilment"."return_lines"."accepted_quantity" IS NULL AND "fulfilment"."return_lines"."rejected_quantity" IS NULL) OR ("fulfilment"."return_lines"."accepted_quantity" >= 0 AND "fulfilment"."return_lines"."rejected_quantity" >= 0 AND "fulfilment"."return_lines"."accepted_quantity" + "fulfilment"."return_lines"."rejected_quantity" = "fulfilment"."return_lines"."quantity"))
);
--> statement-breakpoint
CREATE TABLE "fulfilment"."returns" (
	"id" uuid PRIMARY KEY NOT NULL,
	"order_id" uuid NOT NULL,
	"account_id" uuid NOT NULL,
	"status" text DEFAULT 'requested' NOT NULL,
	"status_reason" text,
	"reason" text NOT NULL,
	"currency" char(3) NOT NULL,
	"location" text NOT NULL,
	"workflow_id" text NOT NULL,
	"carrier_shipment_id" text,
	"tracking_number" text,
	"label_url" text,
	"authorised_at" timestamp with time zone,
	"received_via" text,
	"received_at" timestamp with time zone,
	"inspected_at" timestamp with time zone,
	"inspection_note" text,
	"refund_id" text,
	"refund_amount" bigint,
	"refunded_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "returns_status" CHECK ("fulfilment"."returns"."status" IN ('requested', 'authorised', 'received', 'inspected', 'refunded', 'rejected', 'refund_failed', 'expired', 'cancelled')),
	CONSTRAINT "returns_received_via" CHECK ("fulfilment"."returns"."received_via" IS NULL OR "fulfilment"."returns"."received_via" IN ('carrier', 'ops')),
	CONSTRAINT "returns_refund_amount" CHECK ("fulfilment"."returns"."refund_amount" IS NULL OR "fulfilment"."returns"."refund_amount" >= 0)
);
--> statement-breakpoint
ALTER TABLE "fulfilment"."return_lines" ADD CONSTRAINT "return_lines_return_id_returns_id_fk" FOREIGN KEY ("return_id") REFERENCES "fulfilment"."returns"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "returns_order_idx" ON "fulfilment"."returns" USING btree ("order_id","created_at");