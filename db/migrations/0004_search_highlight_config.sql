-- ts_headline must mark words in the original, accented text ("Théière") when the shopper typed
-- "theiere": this configuration folds accents while parsing, which the indexed fold() columns cannot do
-- for a text they do not store.
CREATE TEXT SEARCH CONFIGURATION catalog.folded (COPY = pg_catalog.simple);
--> statement-breakpoint
ALTER TEXT SEARCH CONFIGURATION catalog.folded ALTER MAPPING FOR hword, hword_part, word WITH public.unaccent, simple;
