import type postgres from 'postgres';

/**
 * Grows the catalog to `target` published products for the benchmarks, by cloning the demo catalog
 * (already imported through the workflow) in set-based SQL: going through the import workflow would
 * take far longer than the measurement itself. Clones keep the demo's categories, attributes, variants,
 * prices and stock, with a distinguishing word and number in the title so search has real work to do.
 */
export async function growCatalog(sql: postgres.Sql, target: number): Promise<number> {
  const [{ count: existing } = { count: 0 }] = await sql<{ count: number }[]>`SELECT count(*)::int AS count FROM catalog.products`;
  const [{ count: sources } = { count: 0 }] = await sql<{ count: number }[]>`
    SELECT count(*)::int AS count FROM catalog.products WHERE slug NOT LIKE '%--c%'`;
  if (existing >= target || sources === 0) return existing;
  const copies = Math.ceil((target - existing) / sources);

  await sql.begin(async (tx) => {
    await tx`
      CREATE TEMP TABLE clone_map ON COMMIT DROP AS
      SELECT p.id AS source_id, g AS copy, gen_random_uuid() AS id
      FROM catalog.products p CROSS JOIN generate_series(1, ${copies}::int) g
      WHERE p.slug NOT LIKE '%--c%'
      ORDER BY g, p.id
      LIMIT ${target - existing}`;
    await tx`
      INSERT INTO catalog.products (id, slug, title, description, brand, status, attributes, created_at, updated_at)
      SELECT m.id, p.slug || '--c' || m.copy,
        p.title || ' ' || (ARRAY['Édition', 'Classique', 'Premium', 'Essentiel', 'Vintage', 'Urbain', 'Nature', 'Atelier'])[1 + m.copy % 8] || ' ' || m.copy,
        p.description, p.brand, p.status, p.attributes, p.created_at + m.copy * interval '1 millisecond', now()
      FROM clone_map m JOIN catalog.products p ON p.id = m.source_id`;
    await tx`
      INSERT INTO catalog.product_categories (product_id, category_id)
      SELECT m.id, pc.category_id FROM clone_map m JOIN catalog.product_categories pc ON pc.product_id = m.source_id`;
    await tx`
      CREATE TEMP TABLE clone_variants ON COMMIT DROP AS
      SELECT v.id AS source_id, gen_random_uuid() AS id, m.id AS product_id, v.sku || '-C' || m.copy AS sku, v.title, v.options, v.weight_grams, v.position
      FROM clone_map m JOIN catalog.variants v ON v.product_id = m.source_id`;
    await tx`
      INSERT INTO catalog.variants (id, product_id, sku, title, options, weight_grams, position)
      SELECT id, product_id, sku, title, options, weight_grams, position FROM clone_variants`;
    await tx`
      INSERT INTO catalog.prices (variant_id, currency, amount, compare_at_amount)
      SELECT cv.id, pr.currency, pr.amount, pr.compare_at_amount
      FROM clone_variants cv JOIN catalog.prices pr ON pr.variant_id = cv.source_id`;
    await tx`
      INSERT INTO inventory.stock_levels (sku, location, on_hand)
      SELECT cv.sku, s.location, s.on_hand
      FROM clone_variants cv JOIN catalog.variants v ON v.id = cv.source_id JOIN inventory.stock_levels s ON s.sku = v.sku`;
  });
  await sql`ANALYZE`;
  const [{ count } = { count: 0 }] = await sql<{ count: number }[]>`SELECT count(*)::int AS count FROM catalog.products`;
  return count;
}
