import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { catalogCacheKeys } from '../../cache/catalog-keys';
import { listCategoriesWithCounts, type CategoryRow } from '../../db/catalog';
import { readCacheFor } from '../../platform/cache';
import type { AppEnv } from '../deps';
import { access } from '../auth';
import { ProblemResponses } from '../schemas';

interface CategoryNode {
  name: string;
  slug: string;
  path: string;
  productCount: number;
  children: CategoryNode[];
}

const CategoryNodeSchema: z.ZodType<CategoryNode> = z
  .lazy(() =>
    z.object({
      name: z.string(),
      slug: z.string(),
      path: z.string().openapi({ description: 'Pass as `category` to GET /v1/products', example: 'mode/femme/robes' }),
      productCount: z.number().int().openapi({ description: 'Published products in this category or any descendant, each counted once' }),
      children: z.array(CategoryNodeSchema),
    }),
  )
  .openapi('CategoryNode');

const CategoryTree = z.object({ items: z.array(CategoryNodeSchema).openapi({ description: 'Root categories, by path' }) }).openapi('CategoryTree');

const getCategories = createRoute({
  method: 'get',
  path: '/v1/categories',
  tags: ['catalog'],
  ...access('public'),
  summary: 'The whole category tree with product counts',
  description: 'Not paginated: the tree is small and answered from the read cache.',
  request: { query: z.object({}).strict() },
  responses: {
    200: { description: 'The tree', content: { 'application/json': { schema: CategoryTree } } },
    ...ProblemResponses,
  },
});

/** Seconds the tree stays cached; the outbox deletes it sooner when a product or category changes. */
const treeTtlSeconds = 300;

/** Rows sorted by path → nested nodes. A node whose parent is missing becomes a root rather than vanishing. */
export function buildCategoryTree(rows: CategoryRow[]): CategoryNode[] {
  const nodes = new Map(rows.map((row) => [row.id, { name: row.name, slug: row.slug, path: row.path, productCount: row.productCount, children: [] as CategoryNode[] }]));
  const roots: CategoryNode[] = [];
  for (const row of rows) {
    const node = nodes.get(row.id)!;
    const parent = row.parentId ? nodes.get(row.parentId) : undefined;
    (parent ? parent.children : roots).push(node);
  }
  return roots;
}

export function categoryRoutes(app: OpenAPIHono<AppEnv>) {
  app.openapi(getCategories, async (c) => {
    const { db, redis, logger } = c.get('deps');
    const items = await readCacheFor(redis, logger).get(catalogCacheKeys.categoryTree(), 'category-tree', treeTtlSeconds, async () =>
      buildCategoryTree(await listCategoriesWithCounts(db)),
    );
    return c.json({ items: items ?? [] }, 200);
  });
}
