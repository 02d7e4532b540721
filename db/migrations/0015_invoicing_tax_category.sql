CREATE SCHEMA "invoicing";
--> statement-breakpoint
CREATE TABLE "invoicing"."credit_note_lines" (
	"credit_note_id" uuid NOT NULL,
	"position" integer NOT NULL,
	"kind" text NOT NULL,
	"invoice_line_position" integer,
	"sku" text,
	"description" text NOT NULL,
	"quantity" integer,
	"vat_rate_bp" integer NOT NULL,
	"gross" bigint NOT NULL,
	"vat" bigint NOT NULL,
	"net" bigint NOT NULL,
	CONSTRAINT "credit_note_lines_credit_note_id_position_pk" PRIMARY KEY("credit_note_id","position"),
	CONSTRAINT "credit_note_lines_kind" CHECK ("invoicing"."credit_note_lines"."kind" IN ('goods', 'adjustment')),
	CONSTRAINT "credit_note_lines_amounts" CHECK ("invoicing"."credit_note_lines"."gross" = "invoicing"."credit_note_lines"."net" + "invoicing"."credit_note_lines"."vat" AND "invoicing"."credit_note_lines"."vat" >= 0 AND "invoicing"."credit_note_lines"."net" >= 0),
	CONSTRAINT "credit_note_lines_goods" CHECK ("invoicing"."credit_note_lines"."kind" <> 'goods' OR ("invoicing"."credit_note_lines"."invoice_line_position" IS NOT NULL AND "invoicing"."credit_note_lines"."quantity" > 0))
);
--> statement-breakpoint
CREATE TABLE "invoicing"."credit_notes" (
	"id" uuid PRIMARY KEY NOT NULL,
	"number" text NOT NULL,
	"series" text NOT NULL,
	"year" integer NOT NULL,
	"sequence" integer NOT NULL,
	"invoice_id" uuid NOT NULL,
	"order_id" uuid NOT NULL,
	"refund_id" text NOT NULL,
	"currency" char(3) NOT NULL,
	"issued_at" timestamp with time zone NOT NULL,
	"reason" text NOT NULL,
	"total_gross" bigint NOT NULL,
	"total_vat" bigint NOT NULL,
	"total_net" bigint NOT NULL,
	CONSTRAINT "credit_notes_number_unique" UNIQUE("number"),
	CONSTRAINT "credit_notes_series_year_sequence" UNIQUE("series","year","sequence"),
	CONSTRAINT "credit_notes_order_refund" UNIQUE("order_id","refund_id"),
	CONSTRAINT "credit_notes_totals" CHECK ("invoicing"."credit_notes"."total_gross" = "invoicing"."credit_notes"."total_net" + "invoicing"."credit_notes"."total_vat" AND "invoicing"."credit_notes"."total_gross" > 0 AND "invoicing"."credit_notes"."total_vat" >= 0 AND "invoicing"."credit_notes"."total_net" >= 0),
	CONSTRAINT "credit_notes_sequence" CHECK ("invoicing"."credit_notes"."sequence" > 0),
	CONSTRAINT "credit_notes_year" CHECK ("invoicing"."credit_notes"."year" = extract(year FROM "invoicing"."credit_notes"."issued_at" AT TIME ZONE 'UTC')),
	CONSTRAINT "credit_notes_number" CHECK ("invoicing"."credit_notes"."number" = "invoicing"."credit_notes"."series" || '-' || "invoicing"."credit_notes"."year"::text || '-' || CASE WHEN "invoicing"."credit_notes"."sequence" < 1000000 THEN lpad("invoicing"."credit_notes"."sequence"::text, 6, '0') ELSE "invoicing"."credit_notes"."sequence"::text END)
);
--> statement-breakpoint
CREATE TABLE "invoicing"."document_counters" (
	"series" text NOT NULL,
	"year" integer NOT NULL,
	"kind" text NOT NULL,
	"last_number" integer NOT NULL,
	CONSTRAINT "document_counters_series_year_pk" PRIMARY KEY("series","year"),
	CONSTRAINT "document_counters_kind" CHECK ("invoicing"."document_counters"."kind" IN ('invoice', 'credit_note')),
	CONSTRAINT "document_counters_last_number" CHECK ("invoicing"."document_counters"."last_number" > 0)
);
--> statement-breakpoint
CREATE TABLE "invoicing"."invoice_lines" (
	"invoice_id" uuid NOT NULL,
	"position" integer NOT NULL,
	"kind" text NOT NULL,
	"sku" text,
	"description" text NOT NULL,
	"quantity" integer NOT NULL,
	"unit_gross" bigint NOT NULL,
	"discount" bigint DEFAULT 0 NOT NULL,
	"tax_category" text NOT NULL,
	"vat_rate_bp" integer NOT NULL,
	"gross" bigint NOT NULL,
	"vat" bigint NOT NULL,
	"net" bigint NOT NULL,
	CONSTRAINT "invoice_lines_invoice_id_position_pk" PRIMARY KEY("invoice_id","position"),
	CONSTRAINT "invoice_lines_kind" CHECK ("invoicing"."invoice_lines"."kind" IN ('goods', 'shipping')),
	CONSTRAINT "invoice_lines_amounts" CHECK ("invoicing"."invoice_lines"."gross" = "invoicing"."invoice_lines"."net" + "invoicing"."invoice_lines"."vat" AND "invoicing"."invoice_lines"."vat" >= 0 AND "invoicing"."invoice_lines"."net" >= 0 AND "invoicing"."invoice_lines"."discount" >= 0 AND "invoicing"."invoice_lines"."quantity" > 0),
	CONSTRAINT "invoice_lines_rate" CHECK ("invoicing"."invoice_lines"."vat_rate_bp" BETWEEN 0 AND 10000)
);
--> statement-breakpoint
CREATE TABLE "invoicing"."invoices" (
	"id" uuid PRIMARY KEY NOT NULL,
	"number" text NOT NULL,
	"series" text NOT NULL,
	"year" integer NOT NULL,
	"sequence" integer NOT NULL,
	"order_id" uuid NOT NULL,
	"account_id" uuid NOT NULL,
	"currency" char(3) NOT NULL,
	"destination_country" char(2) NOT NULL,
	"issued_at" timestamp with time zone NOT NULL,
	"seller" jsonb NOT NULL,
	"buyer_enc" text,
	"total_gross" bigint NOT NULL,
	"total_vat" bigint NOT NULL,
	"total_net" bigint NOT NULL,
	"retain_until" timestamp with time zone NOT NULL,
	CONSTRAINT "invoices_number_unique" UNIQUE("number"),
	CONSTRAINT "invoices_order_id_unique" UNIQUE("order_id"),
	CONSTRAINT "invoices_series_year_sequence" UNIQUE("series","year","sequence"),
	CONSTRAINT "invoices_totals" CHECK ("invoicing"."invoices"."total_gross" = "invoicing"."invoices"."total_net" + "invoicing"."invoices"."total_vat" AND "invoicing"."invoices"."total_vat" >= 0 AND "invoicing"."invoices"."total_net" >= 0),
	CONSTRAINT "invoices_sequence" CHECK ("invoicing"."invoices"."sequence" > 0),
	CONSTRAINT "invoices_year" CHECK ("invoicing"."invoices"."year" = extract(year FROM "invoicing"."invoices"."issued_at" AT TIME ZONE 'UTC')),
	CONSTRAINT "invoices_number" CHECK ("invoicing"."invoices"."number" = "invoicing"."invoices"."series" || '-' || "invoicing"."invoices"."year"::text || '-' || CASE WHEN "invoicing"."invoices"."sequence" < 1000000 THEN lpad("invoicing"."invoices"."sequence"::text, 6, '0') ELSE "invoicing"."invoices"."sequence"::text END)
);
--> statement-breakpoint
ALTER TABLE "invoicing"."credit_note_lines" ADD CONSTRAINT "credit_note_lines_credit_note_id_credit_notes_id_fk" FOREIGN KEY ("credit_note_id") REFERENCES "invoicing"."credit_notes"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "invoicing"."credit_notes" ADD CONSTRAINT "credit_notes_invoice_id_invoices_id_fk" FOREIGN KEY ("invoice_id") REFERENCES "invoicing"."invoices"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "invoicing"."invoice_lines" ADD CONSTRAINT "invoice_lines_invoice_id_invoices_id_fk" FOREIGN KEY ("invoice_id") REFERENCES "invoicing"."invoices"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "credit_notes_invoice_idx" ON "invoicing"."credit_notes" USING btree ("invoice_id","issued_at");--> statement-breakpoint
CREATE INDEX "invoices_account_idx" ON "invoicing"."invoices" USING btree ("account_id","issued_at");--> statement-breakpoint
CREATE FUNCTION invoicing.refuse_rewrite() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'invoicing.% is immutable: % refused', TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$;--> statement-breakpoint
CREATE FUNCTION invoicing.guard_invoice_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- The financial facts never change; only the sealed buyer block may be re-encrypted (key rotation) or,
  -- once the legal retention is over, removed (erasure).
  IF (to_jsonb(NEW) - 'buyer_enc') IS DISTINCT FROM (to_jsonb(OLD) - 'buyer_enc') THEN
    RAISE EXCEPTION 'invoicing.invoices is immutable: UPDATE refused' USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF OLD.buyer_enc IS NULL AND NEW.buyer_enc IS NOT NULL THEN
    RAISE EXCEPTION 'invoicing.invoices: a buyer cannot be added after issue' USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF OLD.buyer_enc IS NOT NULL AND NEW.buyer_enc IS NULL AND OLD.retain_until > now() THEN
    RAISE EXCEPTION 'invoicing.invoices: the buyer must be kept until the end of the retention period' USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END;
$$;--> statement-breakpoint
CREATE TRIGGER invoices_immutable BEFORE UPDATE ON "invoicing"."invoices"
  FOR EACH ROW EXECUTE FUNCTION invoicing.guard_invoice_update();--> statement-breakpoint
CREATE TRIGGER invoices_no_delete BEFORE DELETE ON "invoicing"."invoices"
  FOR EACH ROW EXECUTE FUNCTION invoicing.refuse_rewrite();--> statement-breakpoint
CREATE TRIGGER invoices_no_truncate BEFORE TRUNCATE ON "invoicing"."invoices"
  FOR EACH STATEMENT EXECUTE FUNCTION invoicing.refuse_rewrite();--> statement-breakpoint
CREATE TRIGGER invoice_lines_immutable BEFORE UPDATE OR DELETE ON "invoicing"."invoice_lines"
  FOR EACH ROW EXECUTE FUNCTION invoicing.refuse_rewrite();--> statement-breakpoint
CREATE TRIGGER invoice_lines_no_truncate BEFORE TRUNCATE ON "invoicing"."invoice_lines"
  FOR EACH STATEMENT EXECUTE FUNCTION invoicing.refuse_rewrite();--> statement-breakpoint
CREATE TRIGGER credit_notes_immutable BEFORE UPDATE OR DELETE ON "invoicing"."credit_notes"
  FOR EACH ROW EXECUTE FUNCTION invoicing.refuse_rewrite();--> statement-breakpoint
CREATE TRIGGER credit_notes_no_truncate BEFORE TRUNCATE ON "invoicing"."credit_notes"
  FOR EACH STATEMENT EXECUTE FUNCTION invoicing.refuse_rewrite();--> statement-breakpoint
CREATE TRIGGER credit_note_lines_immutable BEFORE UPDATE OR DELETE ON "invoicing"."credit_note_lines"
  FOR EACH ROW EXECUTE FUNCTION invoicing.refuse_rewrite();--> statement-breakpoint
CREATE TRIGGER credit_note_lines_no_truncate BEFORE TRUNCATE ON "invoicing"."credit_note_lines"
  FOR EACH STATEMENT EXECUTE FUNCTION invoicing.refuse_rewrite();--> statement-breakpoint
CREATE FUNCTION invoicing.guard_counter_step() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- A counter starts at 1 and moves by exactly one: a number is never skipped, nor given twice.
  IF TG_OP = 'INSERT' AND NEW.last_number <> 1 THEN
    RAISE EXCEPTION 'invoicing.document_counters: a series starts at 1' USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF TG_OP = 'UPDATE' AND (NEW.series, NEW."year", NEW.kind, NEW.last_number) IS DISTINCT FROM (OLD.series, OLD."year", OLD.kind, OLD.last_number + 1) THEN
    RAISE EXCEPTION 'invoicing.document_counters: numbers move forward by one' USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END;
$$;--> statement-breakpoint
CREATE TRIGGER document_counters_step BEFORE INSERT OR UPDATE ON "invoicing"."document_counters"
  FOR EACH ROW EXECUTE FUNCTION invoicing.guard_counter_step();--> statement-breakpoint
CREATE TRIGGER document_counters_no_delete BEFORE DELETE ON "invoicing"."document_counters"
  FOR EACH ROW EXECUTE FUNCTION invoicing.refuse_rewrite();--> statement-breakpoint
CREATE TRIGGER document_counters_no_truncate BEFORE TRUNCATE ON "invoicing"."document_counters"
  FOR EACH STATEMENT EXECUTE FUNCTION invoicing.refuse_rewrite();--> statement-breakpoint
CREATE FUNCTION invoicing.require_numbered_document() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- At commit: the number the counter gave out belongs to a document, so no number is left unused.
  IF NEW.kind = 'invoice' THEN
    PERFORM 1 FROM invoicing.invoices WHERE series = NEW.series AND "year" = NEW."year" AND sequence = NEW.last_number;
  ELSE
    PERFORM 1 FROM invoicing.credit_notes WHERE series = NEW.series AND "year" = NEW."year" AND sequence = NEW.last_number;
  END IF;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'invoicing: number % of % % was given to no document', NEW.last_number, NEW.series, NEW."year" USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  RETURN NULL;
END;
$$;--> statement-breakpoint
CREATE CONSTRAINT TRIGGER document_counters_used AFTER INSERT OR UPDATE ON "invoicing"."document_counters"
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION invoicing.require_numbered_document();--> statement-breakpoint
CREATE FUNCTION invoicing.require_counter_number() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- A document takes the number its transaction just drew from the counter, and no other.
  PERFORM 1 FROM invoicing.document_counters
    WHERE series = NEW.series AND "year" = NEW."year" AND last_number = NEW.sequence
      AND kind = CASE TG_TABLE_NAME WHEN 'invoices' THEN 'invoice' ELSE 'credit_note' END;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'invoicing.%: % was not drawn from its counter', TG_TABLE_NAME, NEW.number USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  RETURN NEW;
END;
$$;--> statement-breakpoint
CREATE TRIGGER invoices_numbered BEFORE INSERT ON "invoicing"."invoices"
  FOR EACH ROW EXECUTE FUNCTION invoicing.require_counter_number();--> statement-breakpoint
CREATE TRIGGER credit_notes_numbered BEFORE INSERT ON "invoicing"."credit_notes"
  FOR EACH ROW EXECUTE FUNCTION invoicing.require_counter_number();
