import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import {
  categoryVersion,
  childCount,
  deleteCategory,
  findCategory,
  insertCategory,
  isSelfOrDescendant,
  lockCategory,
  lockCategoryTree,
  pgErrorOf,
  updateCategory,
  type CategoryRow,
} from '../../db/catalog-admin';
import type { Executor } from '../../platform/postgres';
import { access } from '../auth';
import { accessIdempotent } from '../idempotency';
import type { AppEnv } from '../deps';
import { HttpProblem, problems } from '../problem';
import { AdminProblemResponses } from '../schemas';
import { nothingToChange } from './admin-products';
import { checkIfMatch, conflict, ConflictResponse, etagOf, ifMatchHeaders, PreconditionResponses } from './admin-preconditions';

export const adminCategoriesPath = '/v1/admin/categories';

const slug = z.string().max(100).regex(/^[a-z0-9]+(?:-[a-z0-9]+)*$/, 'must be lowercase words joined by dashes');
const name = z.string().trim().min(1).max(200);

const NewCategory = z
  .object({
    slug,
    name,
    parentId: z.uuid().nullable().default(null).openapi({ description: 'The parent category; null or absent for a top-level one' }),
  })
  .strict()
  .openapi('AdminNewCategory');

const CategoryPatch = z
  .object({
    slug: slug.optional().openapi({ description: 'Renames the path of this category and of everything below it' }),
    name: name.optional(),
    parentId: z.uuid().nullable().optional().openapi({ description: 'Moves the category (with everything below it); null makes it top-level' }),
  })
  .strict()
  .refine((value) => Object.keys(value).length > 0, nothingToChange)
  .openapi('AdminCategoryPatch');

const CategoryView = z
  .object({
    id: z.uuid(),
    slug: z.string(),
    name: z.string(),
    path: z.string().openapi({ example: 'sport/chaussures/running' }),
    parentId: z.uuid().nullable(),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
    links: z.object({ self: z.string() }),
  })
  .openapi('AdminCategory');

const params = z.object({ id: z.uuid() });
const guarded = { tags: ['admin', 'catalog'], };
const categoryResponse = (description: string) => ({
  description,
  headers: z.object({ ETag: z.string().openapi({ description: 'Send it back in If-Match to change this category' }) }),
  content: { 'application/json': { schema: CategoryView } },
});

const createCategory = createRoute({
  ...guarded,
  ...accessIdempotent('catalog:write', { required: false }),
  method: 'post',
  path: adminCategoriesPath,
  summary: 'Create a category, at the top or under a parent',
  request: { body: { required: true, content: { 'application/json': { schema: NewCategory } } } },
  responses: { 201: categoryResponse('Created'), ...AdminProblemResponses, ...ConflictResponse },
});

const getCategory = createRoute({
  ...guarded,
  ...access('catalog:write'),
  method: 'get',
  path: `${adminCategoriesPath}/{id}`,
  summary: 'A category with its ETag',
  request: { params },
  responses: { 200: categoryResponse('The category'), ...AdminProblemResponses },
});

const patchCategory = createRoute({
  ...guarded,
  ...access('catalog:write'),
  method: 'patch',
  path: `${adminCategoriesPath}/{id}`,
  summary: 'Rename or move a category (If-Match required)',
  description: 'Moving a category under itself or one of its descendants is a 409 naming `parentId`.',
  request: { params, headers: ifMatchHeaders, body: { required: true, content: { 'application/json': { schema: CategoryPatch } } } },
  responses: { 200: categoryResponse('Changed'), ...AdminProblemResponses, ...PreconditionResponses, ...ConflictResponse },
});

const removeCategory = createRoute({
  ...guarded,
  ...access('catalog:write'),
  method: 'delete',
  path: `${adminCategoriesPath}/{id}`,
  summary: 'Delete a category without children (If-Match required)',
  description: 'Products filed under it lose that category. A category with children is a 409: move or delete them first.',
  request: { params, headers: ifMatchHeaders },
  responses: { 204: { description: 'Deleted' }, ...AdminProblemResponses, ...PreconditionResponses, ...ConflictResponse },
});

function categoryView(row: CategoryRow): z.infer<typeof CategoryView> {
  return {
    id: row.id,
    slug: row.slug,
    name: row.name,
    path: row.path,
    parentId: row.parentId,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
    links: { self: `${adminCategoriesPath}/${row.id}` },
  };
}

async function readCategory(tx: Executor, id: string) {
  const row = await findCategory(tx, id);
  if (!row) return undefined;
  return { view: categoryView(row), etag: etagOf((await categoryVersion(tx, id))!) };
}

const notFound = (id: string) => new HttpProblem(problems.notFound(`No category ${id}`));

async function parentPathOf(tx: Executor, parentId: string | null): Promise<string | null> {
  if (parentId === null) return null;
  const parent = await findCategory(tx, parentId);
  if (!parent) throw new HttpProblem(problems.validation([{ in: 'body', field: 'parentId', message: 'no such category' }]));
  return parent.path;
}

const pathOf = (parentPath: string | null, slug: string) => (parentPath ? `${parentPath}/${slug}` : slug);

async function translatingPathConflicts<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    const pg = pgErrorOf(error);
    if (pg?.code === '23505' && pg.constraint === 'categories_path_unique') {
      throw conflict('slug', 'already taken', 'A category with this path already exists under that parent');
    }
    throw error;
  }
}

export function adminCategoryRoutes(app: OpenAPIHono<AppEnv>) {
  app.openapi(createCategory, async (c) => {
    const body = c.req.valid('json');
    const created = await translatingPathConflicts(() =>
      c.get('deps').db.transaction(async (tx) => {
        await lockCategoryTree(tx);
        const path = pathOf(await parentPathOf(tx, body.parentId), body.slug);
        const row = await insertCategory(tx, { ...body, path });
        return (await readCategory(tx, row.id))!;
      }),
    );
    return c.json(created.view, 201, { ETag: created.etag, Location: created.view.links.self });
  });

  app.openapi(getCategory, async (c) => {
    const { id } = c.req.valid('param');
    const found = await c.get('deps').db.transaction((tx) => readCategory(tx, id), { isolationLevel: 'repeatable read', accessMode: 'read only' });
    if (!found) throw notFound(id);
    return c.json(found.view, 200, { ETag: found.etag });
  });

  app.openapi(patchCategory, async (c) => {
    const { id } = c.req.valid('param');
    const patch = c.req.valid('json');
    const changed = await translatingPathConflicts(() =>
      c.get('deps').db.transaction(async (tx) => {
        // The tree lock first, then the row: every structural change takes them in this order.
        await lockCategoryTree(tx);
        const current = await lockCategory(tx, id);
        if (!current) throw notFound(id);
        checkIfMatch(c.req.valid('header')['if-match'], (await categoryVersion(tx, id))!);
        const parentId = patch.parentId === undefined ? current.parentId : patch.parentId;
        if (parentId !== null && parentId !== current.parentId && (await isSelfOrDescendant(tx, id, parentId))) {
          throw conflict('parentId', 'is this category or one below it', 'A category cannot be moved under itself or one of its descendants');
        }
        const nextSlug = patch.slug ?? current.slug;
        const parentPath = await parentPathOf(tx, parentId);
        await updateCategory(tx, current, { slug: nextSlug, name: patch.name ?? current.name, parentId, path: pathOf(parentPath, nextSlug) });
        return (await readCategory(tx, id))!;
      }),
    );
    return c.json(changed.view, 200, { ETag: changed.etag });
  });

  app.openapi(removeCategory, async (c) => {
    const { id } = c.req.valid('param');
    await c.get('deps').db.transaction(async (tx) => {
      await lockCategoryTree(tx);
      const current = await lockCategory(tx, id);
      if (!current) throw notFound(id);
      checkIfMatch(c.req.valid('header')['if-match'], (await categoryVersion(tx, id))!);
      if ((await childCount(tx, id)) > 0) {
        throw new HttpProblem({
          status: 409,
          slug: 'category-has-children',
          title: 'Conflict',
          detail: 'This category has children: move or delete them first',
          errors: [{ in: 'path', field: 'id', message: 'has child categories' }],
        });
      }
      await deleteCategory(tx, current);
    });
    return c.body(null, 204);
  });
}
