CREATE TYPE "catalog"."search_index_state" AS ENUM('building', 'live', 'retired');--> statement-breakpoint
CREATE TABLE "catalog"."search_documents" (
	"index_name" text NOT NULL,
	"product_id" uuid NOT NULL,
	"slug" text NOT NULL,
	"title" text NOT NULL,
	"description" text NOT NULL,
	"brand" text,
	"keywords" text NOT NULL,
	"category_paths" text[] NOT NULL,
	"facet_values" text[] NOT NULL,
	"prices" jsonb NOT NULL,
	"in_stock" boolean NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"document" jsonb NOT NULL,
	"folded" text GENERATED ALWAYS AS (catalog.fold(title || ' ' || coalesce(brand, '') || ' ' || keywords)) STORED NOT NULL,
	"tsv" "tsvector" GENERATED ALWAYS AS (setweight(to_tsvector('simple', catalog.fold(title || ' ' || coalesce(brand, ''))), 'A')
          || setweight(to_tsvector('french', catalog.fold(title)), 'A')
          || setweight(to_tsvector('english', catalog.fold(title)), 'A')
          || setweight(to_tsvector('simple', catalog.fold(keywords)), 'B')
          || setweight(to_tsvector('french', catalog.fold(keywords)), 'B')
          || setweight(to_tsvector('english', catalog.fold(keywords)), 'B')
          || setweight(to_tsvector('simple', catalog.fold(description)), 'C')
          || setweight(to_tsvector('french', catalog.fold(description)), 'C')
          || setweight(to_tsvector('english', catalog.fold(description)), 'C')) STORED NOT NULL,
	CONSTRAINT "search_documents_index_name_product_id_pk" PRIMARY KEY("index_name","product_id")
);
--> statement-breakpoint
CREATE TABLE "catalog"."search_indexes" (
	"name" text PRIMARY KEY NOT NULL,
	"alias" text NOT NULL,
	"state" "catalog"."search_index_state" DEFAULT 'building' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "catalog"."search_synonyms" (
	"alias" text NOT NULL,
	"position" integer NOT NULL,
	"terms" text[] NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "search_synonyms_alias_position_pk" PRIMARY KEY("alias","position")
);
--> statement-breakpoint
ALTER TABLE "catalog"."search_documents" ADD CONSTRAINT "search_documents_index_name_search_indexes_name_fk" FOREIGN KEY ("index_name") REFERENCES "catalog"."search_indexes"("name") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "search_documents_tsv_idx" ON "catalog"."search_documents" USING gin ("tsv");--> statement-breakpoint
CREATE INDEX "search_documents_folded_trgm_idx" ON "catalog"."search_documents" USING gin ("folded" gin_trgm_ops);--> statement-breakpoint
CREATE INDEX "search_documents_categories_idx" ON "catalog"."search_documents" USING gin ("category_paths");--> statement-breakpoint
CREATE INDEX "search_documents_facets_idx" ON "catalog"."search_documents" USING gin ("facet_values");--> statement-breakpoint
CREATE UNIQUE INDEX "search_indexes_one_live_idx" ON "catalog"."search_indexes" USING btree ("alias") WHERE "catalog"."search_indexes"."state" = 'live';