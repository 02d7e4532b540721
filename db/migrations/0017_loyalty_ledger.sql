CREATE SCHEMA "loyalty";
--> statement-breakpoint
CREATE TABLE "loyalty"."accounts" (
	"account_id" uuid PRIMARY KEY NOT NULL,
	"balance" integer DEFAULT 0 NOT NULL,
	"reserved" integer DEFAULT 0 NOT NULL,
	"debt" integer DEFAULT 0 NOT NULL,
	"tier" text DEFAULT 'bronze' NOT NULL,
	"last_seq" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "loyalty_accounts_balance" CHECK ("loyalty"."accounts"."balance" >= 0 AND "loyalty"."accounts"."reserved" >= 0 AND "loyalty"."accounts"."reserved" <= "loyalty"."accounts"."balance" AND "loyalty"."accounts"."debt" >= 0),
	CONSTRAINT "loyalty_accounts_tier" CHECK ("loyalty"."accounts"."tier" IN ('bronze', 'silver', 'gold'))
);
--> statement-breakpoint
CREATE TABLE "loyalty"."ledger_entries" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"account_id" uuid NOT NULL,
	"seq" integer NOT NULL,
	"idempotency_key" text NOT NULL,
	"kind" text NOT NULL,
	"points" integer NOT NULL,
	"reserved_delta" integer DEFAULT 0 NOT NULL,
	"debt_delta" integer DEFAULT 0 NOT NULL,
	"order_id" uuid,
	"refund_id" text,
	"lot_id" text,
	"expires_at" timestamp with time zone,
	"lots" jsonb,
	"spend_eur" integer,
	"spend_at" timestamp with time zone,
	"detail" jsonb,
	"occurred_at" timestamp with time zone NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "loyalty_ledger_kind" CHECK (kind IN ('earn', 'clawback', 'reserve', 'commit', 'release', 'expire', 'debt_repaid', 'tier')),
	CONSTRAINT "loyalty_ledger_seq" CHECK ("loyalty"."ledger_entries"."seq" > 0),
	CONSTRAINT "loyalty_ledger_signs" CHECK (CASE kind
        WHEN 'earn' THEN points >= 0 AND reserved_delta = 0 AND debt_delta = 0
        WHEN 'clawback' THEN points <= 0 AND reserved_delta = 0 AND debt_delta >= 0
        WHEN 'reserve' THEN points = 0 AND reserved_delta > 0 AND debt_delta = 0
        WHEN 'commit' THEN points < 0 AND reserved_delta = points AND debt_delta = 0
        WHEN 'release' THEN points = 0 AND reserved_delta <= 0 AND debt_delta = 0
        WHEN 'expire' THEN points < 0 AND reserved_delta = 0 AND debt_delta = 0
        WHEN 'debt_repaid' THEN points < 0 AND debt_delta = points AND reserved_delta = 0
        ELSE points = 0 AND reserved_delta = 0 AND debt_delta = 0 END)
);
--> statement-breakpoint
CREATE UNIQUE INDEX "loyalty_ledger_key_idx" ON "loyalty"."ledger_entries" USING btree ("idempotency_key");--> statement-breakpoint
CREATE UNIQUE INDEX "loyalty_ledger_account_seq_idx" ON "loyalty"."ledger_entries" USING btree ("account_id","seq");--> statement-breakpoint
CREATE INDEX "loyalty_ledger_expiring_idx" ON "loyalty"."ledger_entries" USING btree ("account_id","expires_at") WHERE "loyalty"."ledger_entries"."kind" = 'earn';--> statement-breakpoint
CREATE INDEX "loyalty_ledger_spend_idx" ON "loyalty"."ledger_entries" USING btree ("account_id","spend_at") WHERE "loyalty"."ledger_entries"."spend_at" IS NOT NULL;