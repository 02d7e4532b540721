import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { findRelatedByCategory } from '../../db/recommendations';
import type { AppEnv } from '../deps';
import { access } from '../auth';
import { HttpProblem, problems } from '../problem';
import { ProblemResponses } from '../schemas';

const RelatedProducts = z
  .object({
    items: z.array(
      z.object({
        id: z.uuid(),
        slug: z.string(),
        title: z.string(),
        brand: z.string().nullable(),
        reason: z.enum(['same-category']).openapi({ description: 'Why it is suggested' }),
      }),
    ),
  })
  .openapi('RelatedProducts');

const relatedProducts = createRoute({
  method: 'get',
  path: '/v1/products/{slug}/related',
  tags: ['catalog'],
  ...access('public'),
  summary: 'Products to suggest next to this one',
  description: 'Products from the same categories, closest first.',
  request: {
    params: z.object({ slug: z.string().min(1).max(200) }),
    query: z.object({ limit: z.coerce.number().int().min(1).max(20).default(8) }).strict(),
  },
  responses: {
    200: { description: 'Related products', content: { 'application/json': { schema: RelatedProducts } } },
    ...ProblemResponses,
  },
});

export function relatedRoutes(app: OpenAPIHono<AppEnv>) {
  app.openapi(relatedProducts, async (c) => {
    const { slug } = c.req.valid('param');
    const { limit } = c.req.valid('query');
    const related = await findRelatedByCategory(c.get('deps').db, slug, limit);
    if (!related) throw new HttpProblem(problems.notFound(`No published product with slug ${slug}`));
    return c.json(
      { items: related.map(({ id, slug, title, brand }) => ({ id, slug, title, brand, reason: 'same-category' as const })) },
      200,
    );
  });
}
