import { and, eq, sql } from 'drizzle-orm';
import type { Executor } from '../platform/postgres';
import { categories, productCategories, products } from './schema/catalog';

export type RelatedProductRow = {
  id: string;
  slug: string;
  title: string;
  brand: string | null;
  score: number;
};

/**
 * Published products closest to the given one by category: a shared category weighs 2, a shared top
 * level 1, so a product alone in its leaf still gets neighbours. Undefined when the product is unknown.
 */
export async function findRelatedByCategory(db: Executor, slug: string, limit: number): Promise<RelatedProductRow[] | undefined> {
  const [source] = await db
    .select({ id: products.id })
    .from(products)
    .where(and(eq(products.slug, slug), eq(products.status, 'published')));
  if (!source) return undefined;
  return db.execute<RelatedProductRow>(sql`
    WITH source_paths AS (
      SELECT c.path, split_part(c.path, '/', 1) AS root
      FROM ${productCategories} pc JOIN ${categories} c ON c.id = pc.category_id
      WHERE pc.product_id = ${source.id}
    ),
    weighted AS (
      -- The categories table is small: weigh each category once, then only read the memberships that matter.
      SELECT c.id, max(CASE WHEN c.path = sp.path THEN 2 ELSE 1 END) AS weight
      FROM ${categories} c JOIN source_paths sp ON c.path = sp.path OR split_part(c.path, '/', 1) = sp.root
      GROUP BY c.id
    )
    SELECT p.id, p.slug, p.title, p.brand, sum(w.weight)::int AS score
    FROM weighted w
    JOIN ${productCategories} pc ON pc.category_id = w.id
    JOIN ${products} p ON p.id = pc.product_id AND p.status = 'published' AND p.id <> ${source.id}
    GROUP BY p.id
    ORDER BY score DESC, p.created_at DESC, p.id
    LIMIT ${limit}`);
}
