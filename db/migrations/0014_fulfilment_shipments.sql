CREATE SCHEMA "fulfilment";
--> statement-breakpoint
CREATE TABLE "fulfilment"."shipment_lines" (
	"shipment_id" uuid NOT NULL,
	"sku" text NOT NULL,
	"quantity" integer NOT NULL,
	CONSTRAINT "shipment_lines_shipment_id_sku_pk" PRIMARY KEY("shipment_id","sku"),
	CONSTRAINT "shipment_lines_quantity" CHECK ("fulfilment"."shipment_lines"."quantity" > 0)
);
--> statement-breakpoint
CREATE TABLE "fulfilment"."shipments" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"order_id" uuid NOT NULL,
	"from_location" text NOT NULL,
	"attempt" integer DEFAULT 1 NOT NULL,
	"replaces_shipment_id" uuid,
	"status" text DEFAULT 'planned' NOT NULL,
	"attention" text,
	"exception_detail" text,
	"carrier" text,
	"carrier_shipment_id" text,
	"tracking_number" text,
	"label_url" text,
	"booked_at" timestamp with time zone,
	"picked_up_at" timestamp with time zone,
	"delivered_at" timestamp with time zone,
	"cancelled_at" timestamp with time zone,
	"restocked_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "shipments_status" CHECK ("fulfilment"."shipments"."status" IN ('planned', 'booked', 'picked_up', 'in_transit', 'out_for_delivery', 'delivered', 'exception', 'returned_to_sender', 'cancelled')),
	CONSTRAINT "shipments_attention" CHECK ("fulfilment"."shipments"."attention" IS NULL OR "fulfilment"."shipments"."attention" IN ('pickup_overdue', 'exception', 'booking_refused', 'returned_to_sender')),
	CONSTRAINT "shipments_attempt" CHECK ("fulfilment"."shipments"."attempt" >= 1)
);
--> statement-breakpoint
CREATE TABLE "fulfilment"."tracking_events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"shipment_id" uuid NOT NULL,
	"order_id" uuid NOT NULL,
	"event_id" text NOT NULL,
	"type" text NOT NULL,
	"occurred_at" timestamp with time zone NOT NULL,
	"recorded_at" timestamp with time zone DEFAULT now() NOT NULL,
	"applied" text NOT NULL,
	"status_after" text NOT NULL,
	"detail" text,
	CONSTRAINT "tracking_events_applied" CHECK ("fulfilment"."tracking_events"."applied" IN ('applied', 'ignored'))
);
--> statement-breakpoint
ALTER TABLE "orders"."orders" DROP CONSTRAINT "orders_status";--> statement-breakpoint
ALTER TABLE "catalog"."products" ADD COLUMN "tax_category" text DEFAULT 'standard' NOT NULL;--> statement-breakpoint
ALTER TABLE "orders"."orders" ADD COLUMN "delivered_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "orders"."orders" ADD COLUMN "return_window_ends_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "fulfilment"."shipment_lines" ADD CONSTRAINT "shipment_lines_shipment_id_shipments_id_fk" FOREIGN KEY ("shipment_id") REFERENCES "fulfilment"."shipments"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "fulfilment"."tracking_events" ADD CONSTRAINT "tracking_events_shipment_id_shipments_id_fk" FOREIGN KEY ("shipment_id") REFERENCES "fulfilment"."shipments"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "shipments_order_location_attempt_idx" ON "fulfilment"."shipments" USING btree ("order_id","from_location","attempt");--> statement-breakpoint
CREATE UNIQUE INDEX "shipments_carrier_shipment_idx" ON "fulfilment"."shipments" USING btree ("carrier","carrier_shipment_id");--> statement-breakpoint
CREATE INDEX "shipments_order_idx" ON "fulfilment"."shipments" USING btree ("order_id","created_at");--> statement-breakpoint
CREATE INDEX "shipments_attention_idx" ON "fulfilment"."shipments" USING btree ("attention") WHERE "fulfilment"."shipments"."attention" IS NOT NULL;--> statement-breakpoint
CREATE UNIQUE INDEX "tracking_events_event_idx" ON "fulfilment"."tracking_events" USING btree ("shipment_id","event_id");--> statement-breakpoint
CREATE INDEX "tracking_events_order_idx" ON "fulfilment"."tracking_events" USING btree ("order_id","id");--> statement-breakpoint
ALTER TABLE "catalog"."products" ADD CONSTRAINT "products_tax_category" CHECK ("catalog"."products"."tax_category" IN ('standard', 'reduced', 'super_reduced', 'zero'));--> statement-breakpoint
ALTER TABLE "orders"."orders" ADD CONSTRAINT "orders_status" CHECK ("orders"."orders"."status" IN ('PENDING', 'PAYMENT_PENDING', 'AWAITING_CONFIRMATION', 'FRAUD_REVIEW', 'PAID', 'CONFIRMED', 'SHIPPED', 'COMPLETED', 'CANCELLED', 'FAILED'));