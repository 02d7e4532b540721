CREATE SCHEMA "identity";
--> statement-breakpoint
CREATE TABLE "identity"."audit_log" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"occurred_at" timestamp with time zone DEFAULT now() NOT NULL,
	"actor_type" text NOT NULL,
	"actor_id" text,
	"action" text NOT NULL,
	"target_type" text,
	"target_id" text,
	"ip" text,
	"request_id" text,
	"details" jsonb DEFAULT '{}'::jsonb NOT NULL,
	CONSTRAINT "audit_log_actor_type" CHECK ("identity"."audit_log"."actor_type" IN ('account', 'partner', 'system', 'anonymous'))
);
--> statement-breakpoint
CREATE INDEX "audit_log_occurred_at_idx" ON "identity"."audit_log" USING btree ("occurred_at");--> statement-breakpoint
CREATE INDEX "audit_log_actor_idx" ON "identity"."audit_log" USING btree ("actor_id","occurred_at");--> statement-breakpoint
CREATE INDEX "audit_log_target_idx" ON "identity"."audit_log" USING btree ("target_type","target_id","occurred_at");--> statement-breakpoint
CREATE INDEX "audit_log_action_idx" ON "identity"."audit_log" USING btree ("action","occurred_at");--> statement-breakpoint
CREATE FUNCTION identity.refuse_audit_rewrite() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'identity.audit_log is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$;--> statement-breakpoint
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON "identity"."audit_log"
  FOR EACH ROW EXECUTE FUNCTION identity.refuse_audit_rewrite();--> statement-breakpoint
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON "identity"."audit_log"
  FOR EACH STATEMENT EXECUTE FUNCTION identity.refuse_audit_rewrite();
