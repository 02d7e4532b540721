CREATE TABLE "catalog"."search_generations" (
	"alias" text PRIMARY KEY NOT NULL,
	"generation" bigint DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE TABLE "catalog"."search_terms" (
	"index_name" text NOT NULL,
	"term" text NOT NULL,
	CONSTRAINT "search_terms_index_name_term_pk" PRIMARY KEY("index_name","term")
);
--> statement-breakpoint
DROP INDEX "catalog"."search_documents_folded_trgm_idx";--> statement-breakpoint
ALTER TABLE "catalog"."search_terms" ADD CONSTRAINT "search_terms_index_name_search_indexes_name_fk" FOREIGN KEY ("index_name") REFERENCES "catalog"."search_indexes"("name") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "search_terms_trgm_idx" ON "catalog"."search_terms" USING gin ("term" gin_trgm_ops);--> statement-breakpoint
-- Ranking reads the tsvector of every match: kept in the row (compressed) it costs no TOAST lookup.
-- Rows written before this keep their TOASTed value until rewritten (the next reindex does it).
ALTER TABLE "catalog"."search_documents" ALTER COLUMN "tsv" SET STORAGE MAIN;--> statement-breakpoint
-- The words of documents already indexed, so typo tolerance does not wait for a reindex.
INSERT INTO "catalog"."search_terms" ("index_name", "term")
SELECT DISTINCT d.index_name, w.term
FROM "catalog"."search_documents" d,
  unnest(tsvector_to_array(to_tsvector('simple', d.folded || ' ' || catalog.fold(d.description)))) AS w(term)
WHERE length(w.term) >= 4 AND w.term !~ '^[0-9]+$'
ON CONFLICT DO NOTHING;
