import { sql } from 'drizzle-orm';
import {
  bigserial,
  check,
  char,
  index,
  integer,
  jsonb,
  pgSchema,
  primaryKey,
  text,
  timestamp,
  uuid,
} from 'drizzle-orm/pg-core';
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
    ...timestamps,
  },
  // Keyset pagination walks (created_at, id); the index keeps pages cheap however deep the cursor.
  (t) => [index('products_listing_idx').on(t.status, t.createdAt, t.id)],
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
