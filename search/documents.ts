import type postgres from 'postgres';
import type { SearchDocument } from './types';

/**
 * Search documents for the given products, read from the catalog and the stock in one statement.
 * Only published products come back: an id missing from the answer must be removed from the index.
 */
export async function buildSearchDocuments(sql: postgres.Sql, productIds: string[]): Promise<SearchDocument[]> {
  if (productIds.length === 0) return [];
  return documentsWhere(sql, sql`p.id = ANY(${sql.array(productIds)}::uuid[])`, productIds.length);
}

/** The next page of published products in id order, for a reindex that walks the whole catalog. */
export async function searchDocumentsAfter(sql: postgres.Sql, afterId: string | null, limit: number): Promise<SearchDocument[]> {
  return documentsWhere(sql, afterId ? sql`p.id > ${afterId}::uuid` : sql`true`, limit);
}

async function documentsWhere(sql: postgres.Sql, where: postgres.PendingQuery<postgres.Row[]>, limit: number): Promise<SearchDocument[]> {
  const rows = await sql<{ document: SearchDocument }[]>`
    SELECT json_build_object(
      'id', p.id,
      'slug', p.slug,
      'title', p.title,
      'description', p.description,
      'brand', p.brand,
      'categoryPaths', coalesce(cats.paths, '[]'),
      'categoryNames', coalesce(cats.names, '[]'),
      'attributes', p.attributes,
      'options', coalesce(opts.options, '{}'),
      'prices', coalesce(pr.prices, '{}'),
      'inStock', coalesce(stock.in_stock, false),
      'createdAt', to_char(p.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
    ) AS document
    FROM catalog.products p
    -- A product is found under each category it is in and under every ancestor of those.
    LEFT JOIN LATERAL (
      SELECT json_agg(a.path ORDER BY a.path) AS paths, json_agg(a.name ORDER BY a.path) AS names
      FROM (
        SELECT DISTINCT anc.path, anc.name
        FROM catalog.product_categories pc
        JOIN catalog.categories c ON c.id = pc.category_id
        JOIN catalog.categories anc ON anc.path = c.path OR c.path LIKE anc.path || '/%'
        WHERE pc.product_id = p.id) a
    ) cats ON true
    LEFT JOIN LATERAL (
      SELECT json_object_agg(k, vals) AS options
      FROM (
        SELECT o.key AS k, json_agg(DISTINCT o.value ORDER BY o.value) AS vals
        FROM catalog.variants v, jsonb_each_text(v.options) o
        WHERE v.product_id = p.id
        GROUP BY o.key) grouped
    ) opts ON true
    LEFT JOIN LATERAL (
      SELECT json_object_agg(currency, amount) AS prices
      FROM (
        SELECT pr.currency, min(pr.amount)::int AS amount
        FROM catalog.variants v JOIN catalog.prices pr ON pr.variant_id = v.id
        WHERE v.product_id = p.id
        GROUP BY pr.currency) m
    ) pr ON true
    -- In stock: some location holds units not reserved for an order.
    LEFT JOIN LATERAL (
      SELECT coalesce(sum(greatest(s.on_hand - s.reserved, 0)), 0) > 0 AS in_stock
      FROM catalog.variants v JOIN inventory.stock_levels s ON s.sku = v.sku
      WHERE v.product_id = p.id
    ) stock ON true
    WHERE p.status = 'published' AND ${where}
    ORDER BY p.id
    LIMIT ${limit}`;
  return rows.map((row) => row.document);
}
