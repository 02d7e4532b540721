import { sql } from 'drizzle-orm';
import {
  bigint,
  bigserial,
  boolean,
  check,
  char,
  customType,
  index,
  integer,
  jsonb,
  pgSchema,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { taxCategories, type TaxCategory } from '../../orders/tax';
import { timestamps } from './columns';

export const catalog = pgSchema('catalog');

export const productStatus = catalog.enum('product_status', ['draft', 'published']);

export const categories = catalog.table(
  'categories',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    /** Full slug path from the root (`sport/chaussures/running`): unique, and the natural key imports upsert on. */
    path: text('path').notNull().unique(),
    slug: text('slug').notNull(),
    name: text('name').notNull(),
    parentId: uuid('parent_id'),
    ...timestamps,
  },
  (t) => [index('categories_parent_idx').on(t.parentId)],
);

export const products = catalog.table(
  'products',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    slug: text('slug').notNull().unique(),
    title: text('title').notNull(),
    description: text('description').notNull().default(''),
    brand: text('brand'),
    status: productStatus('status').notNull().default('published'),
    attributes: jsonb('attributes').$type<Record<string, string | number | boolean>>().notNull().default({}),
    /** Which VAT rate of the destination applies (orders/tax.ts); most goods are `standard`. */
    taxCategory: text('tax_category').$type<TaxCategory>().notNull().default('standard'),
    ...timestamps,
  },
  // Keyset pagination walks (created_at, id); the index keeps pages cheap however deep the cursor.
  (t) => [
    check('products_tax_category', sql`${t.taxCategory} IN (${sql.raw(taxCategories.map((c) => `'${c}'`).join(', '))})`),
    index('products_listing_idx').on(t.status, t.createdAt, t.id),
    // Serves the attribute filters of the listing (`attributes @@ jsonpath`).
    index('products_attributes_idx').using('gin', t.attributes.op('jsonb_path_ops')),
  ],
);

export const productCategories = catalog.table(
  'product_categories',
  {
    productId: uuid('product_id')
      .notNull()
      .references(() => products.id, { onDelete: 'cascade' }),
    categoryId: uuid('category_id')
      .notNull()
      .references(() => categories.id, { onDelete: 'cascade' }),
  },
  (t) => [primaryKey({ columns: [t.productId, t.categoryId] }), index('product_categories_category_idx').on(t.categoryId)],
);

export const variants = catalog.table(
  'variants',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    productId: uuid('product_id')
      .notNull()
      .references(() => products.id, { onDelete: 'cascade' }),
    sku: text('sku').notNull().unique(),
    title: text('title').notNull(),
    options: jsonb('options').$type<Record<string, string>>().notNull().default({}),
    weightGrams: integer('weight_grams'),
    position: integer('position').notNull().default(0),
    ...timestamps,
  },
  (t) => [index('variants_product_idx').on(t.productId)],
);

export const prices = catalog.table(
  'prices',
  {
    variantId: uuid('variant_id')
      .notNull()
      .references(() => variants.id, { onDelete: 'cascade' }),
    currency: char('currency', { length: 3 }).notNull(),
    /** Integer minor units (cents). */
    amount: integer('amount').notNull(),
    compareAtAmount: integer('compare_at_amount'),
    ...timestamps,
  },
  (t) => [
    primaryKey({ columns: [t.variantId, t.currency] }),
    check('prices_amount_non_negative', sql`${t.amount} >= 0`),
    check('prices_compare_at_above_amount', sql`${t.compareAtAmount} IS NULL OR ${t.compareAtAmount} > ${t.amount}`),
  ],
);

export const importStatus = catalog.enum('import_status', ['received', 'running', 'completed', 'failed']);

/** An accepted import: its rows are stored before the workflow starts, so nothing accepted is lost if Temporal is down. */
export const imports = catalog.table('imports', {
  id: text('id').primaryKey(),
  status: importStatus('status').notNull().default('received'),
  idempotencyKey: text('idempotency_key').unique(),
  bodySha256: text('body_sha256').notNull(),
  totalRows: integer('total_rows').notNull(),
  importedRows: integer('imported_rows').notNull().default(0),
  failedRows: integer('failed_rows').notNull().default(0),
  workflowId: text('workflow_id').notNull(),
  startedAt: timestamp('started_at', { withTimezone: true }),
  completedAt: timestamp('completed_at', { withTimezone: true }),
  ...timestamps,
});

export const importRowStatus = catalog.enum('import_row_status', ['pending', 'imported', 'failed']);

export interface ImportRowError {
  field: string;
  message: string;
}

export const importRows = catalog.table(
  'import_rows',
  {
    importId: text('import_id')
      .notNull()
      .references(() => imports.id, { onDelete: 'cascade' }),
    rowNumber: integer('row_number').notNull(),
    payload: jsonb('payload').notNull(),
    status: importRowStatus('status').notNull().default('pending'),
    errors: jsonb('errors').$type<ImportRowError[]>(),
  },
  (t) => [primaryKey({ columns: [t.importId, t.rowNumber] }), index('import_rows_failed_idx').on(t.importId, t.status)],
);

/** Product images, in display order. `storageKey` names the file in the configured media store (local disk or S3). */
export const media = catalog.table(
  'media',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    productId: uuid('product_id')
      .notNull()
      .references(() => products.id, { onDelete: 'cascade' }),
    storageKey: text('storage_key').notNull().unique(),
    contentType: text('content_type').notNull(),
    bytes: integer('bytes').notNull(),
    alt: text('alt').notNull().default(''),
    position: integer('position').notNull().default(0),
    ...timestamps,
  },
  (t) => [index('media_product_idx').on(t.productId, t.position)],
);

export type CatalogEventType = 'product.changed' | 'product.deleted' | 'category.changed';

/**
 * Every catalog write records an event here in the same transaction. The searchIndexSync workflow
 * drains it in id order (so per product in order) into the search index and the read cache.
 */
export const outbox = catalog.table(
  'outbox',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    eventType: text('event_type').$type<CatalogEventType>().notNull(),
    /** The product (or category) the event is about. */
    aggregateId: uuid('aggregate_id').notNull(),
    payload: jsonb('payload').$type<{ slug?: string; previousSlug?: string; path?: string }>().notNull().default({}),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    processedAt: timestamp('processed_at', { withTimezone: true }),
  },
  (t) => [index('outbox_pending_idx').on(t.id).where(sql`${t.processedAt} IS NULL`)],
);

/** Postgres has a tsvector type drizzle does not ship; values are only ever produced by the database. */
const tsvector = customType<{ data: string }>({ dataType: () => 'tsvector' });

export const searchIndexState = catalog.enum('search_index_state', ['building', 'live', 'retired']);

/**
 * The physical indexes behind a logical one (`alias`). A reindex builds a new one while the live one
 * keeps answering, then flips `state` in one transaction: every search sees either the old index or
 * the new one, never a half-built one.
 */
export const searchIndexes = catalog.table(
  'search_indexes',
  {
    name: text('name').primaryKey(),
    alias: text('alias').notNull(),
    state: searchIndexState('state').notNull().default('building'),
    ...timestamps,
  },
  (t) => [uniqueIndex('search_indexes_one_live_idx').on(t.alias).where(sql`${t.state} = 'live'`)],
);

/**
 * One row per published product and physical index. The text columns hold what the shopper searches;
 * the generated columns fold accents and case once, at write time, so queries can use the indexes.
 */
export const searchDocuments = catalog.table(
  'search_documents',
  {
    indexName: text('index_name')
      .notNull()
      .references(() => searchIndexes.name, { onDelete: 'cascade' }),
    productId: uuid('product_id').notNull(),
    slug: text('slug').notNull(),
    title: text('title').notNull(),
    description: text('description').notNull(),
    brand: text('brand'),
    /** Category names, attribute and option values as one text: searched, never displayed. */
    keywords: text('keywords').notNull(),
    categoryPaths: text('category_paths').array().notNull(),
    /** `key=value` for every product attribute and variant option: the attribute facets and filters. */
    facetValues: text('facet_values').array().notNull(),
    /** Lowest price per currency in minor units, e.g. `{"EUR": 4990}`. */
    prices: jsonb('prices').$type<Record<string, number>>().notNull(),
    inStock: boolean('in_stock').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
    /** The whole document as the API returns it. */
    document: jsonb('document').notNull(),
    folded: text('folded')
      .notNull()
      .generatedAlwaysAs(
        sql`catalog.fold(title || ' ' || coalesce(brand, '') || ' ' || keywords)`,
      ),
    // Stems in both shop languages, plus `simple` for exact words, prefixes and brand names no stemmer knows.
    tsv: tsvector('tsv')
      .notNull()
      .generatedAlwaysAs(
        sql`setweight(to_tsvector('simple', catalog.fold(title || ' ' || coalesce(brand, ''))), 'A')
          || setweight(to_tsvector('french', catalog.fold(title)), 'A')
          || setweight(to_tsvector('english', catalog.fold(title)), 'A')
          || setweight(to_tsvector('simple', catalog.fold(keywords)), 'B')
          || setweight(to_tsvector('french', catalog.fold(keywords)), 'B')
          || setweight(to_tsvector('english', catalog.fold(keywords)), 'B')
          || setweight(to_tsvector('simple', catalog.fold(description)), 'C')
          || setweight(to_tsvector('french', catalog.fold(description)), 'C')
          || setweight(to_tsvector('english', catalog.fold(description)), 'C')`,
      ),
  },
  (t) => [
    primaryKey({ columns: [t.indexName, t.productId] }),
    index('search_documents_tsv_idx').using('gin', t.tsv),
    index('search_documents_categories_idx').using('gin', t.categoryPaths),
    index('search_documents_facets_idx').using('gin', t.facetValues),
  ],
);

/**
 * Every word of an index's documents, for typo correction: a misspelt query word is matched against
 * this short list by trigram, then searched as the words it corrects to — the documents themselves
 * are never scanned by trigram. Words are never removed: a stale one corrects to nothing found.
 */
export const searchTerms = catalog.table(
  'search_terms',
  {
    indexName: text('index_name')
      .notNull()
      .references(() => searchIndexes.name, { onDelete: 'cascade' }),
    term: text('term').notNull(),
  },
  (t) => [primaryKey({ columns: [t.indexName, t.term] }), index('search_terms_trgm_idx').using('gin', t.term.op('gin_trgm_ops'))],
);

/**
 * Bumped in the transaction that changes what an alias answers (documents, synonyms, a swap). The
 * search result cache is keyed by it, so a change retires every cached answer at once.
 */
export const searchGenerations = catalog.table('search_generations', {
  alias: text('alias').primaryKey(),
  generation: bigint('generation', { mode: 'number' }).notNull().default(0),
});

/** Groups of equivalent terms (`pull`, `sweat`, `sweater`), edited by an admin, applied to every query of the alias. */
export const searchSynonyms = catalog.table(
  'search_synonyms',
  {
    alias: text('alias').notNull(),
    position: integer('position').notNull(),
    terms: text('terms').array().notNull(),
    ...timestamps,
  },
  (t) => [primaryKey({ columns: [t.alias, t.position] })],
);
