import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { deleteMedia, findAdminProduct, findMedia, insertMedia, listMediaIds, reorderMedia, updateMediaAlt } from '../../db/catalog-admin';
import { imageTypes, mediaKey, parseMediaKey, sniffImageType, type ImageType } from '../../media/image-type';
import { immutableCacheControl, mediaStoreFor } from '../../media/store';
import type { Executor } from '../../platform/postgres';
import { access } from '../auth';
import type { AppEnv } from '../deps';
import { HttpProblem, problems } from '../problem';
import { ProblemResponses } from '../schemas';
import {
  adminProductsPath,
  answer,
  forgetMediaFiles,
  guarded,
  productIdParam,
  productResponse,
  writeProduct,
  writeResponses,
} from './admin-products';

/** The upload route's pattern as the content-type guard sees it: the one body here that is not JSON. */
export const mediaUploadRoute = `${adminProductsPath}/:id/media`;
export const mediaUploadContentTypes = ['multipart/form-data'];

const acceptedTypes = Object.keys(imageTypes) as ImageType[];

const UploadForm = z
  .object({
    file: z
      .custom<File>((value) => value instanceof File, 'must be one file part')
      .openapi({ type: 'string', format: 'binary', description: `JPEG, PNG, WebP or AVIF, judged by its bytes; at most MEDIA_MAX_BYTES` }),
    alt: z.string().max(500).default('').openapi({ description: 'Text alternative for people who cannot see the image' }),
  })
  .strict()
  .openapi('AdminMediaUpload');

const AltBody = z.object({ alt: z.string().max(500) }).strict().openapi('AdminMediaAlt');
const OrderBody = z
  .object({ mediaIds: z.array(z.uuid()).max(200).openapi({ description: 'Every image of the product, in display order' }) })
  .strict()
  .openapi('AdminMediaOrder');

const mediaParams = productIdParam.extend({ mediaId: z.uuid() });
const problemContent = ProblemResponses[404].content;

const uploadMedia = createRoute({
  ...guarded,
  ...access('catalog:write'),
  method: 'post',
  path: `${adminProductsPath}/{id}/media`,
  summary: 'Add an image to a product (multipart/form-data: `file`, `alt`)',
  description:
    'The image goes after the existing ones. Its type is read from its bytes (415 unless JPEG, PNG, WebP or AVIF); larger than MEDIA_MAX_BYTES is a 413, and the whole request is also bound by BODY_LIMIT_BYTES. If-Match is checked when sent.',
  request: {
    params: productIdParam,
    headers: z.object({ 'if-match': z.string().max(1000).optional() }),
    body: { required: true, content: { 'multipart/form-data': { schema: UploadForm } } },
  },
  responses: { 201: productResponse('Added; the body is the whole product'), ...writeResponses },
});

const patchMedia = createRoute({
  ...guarded,
  ...access('catalog:write'),
  method: 'patch',
  path: `${adminProductsPath}/{id}/media/{mediaId}`,
  summary: "Change an image's alt text (If-Match: the product's ETag)",
  request: {
    params: mediaParams,
    headers: z.object({ 'if-match': z.string().max(1000).optional() }),
    body: { required: true, content: { 'application/json': { schema: AltBody } } },
  },
  responses: { 200: productResponse('Changed; the body is the whole product'), ...writeResponses },
});

const orderMedia = createRoute({
  ...guarded,
  ...access('catalog:write'),
  method: 'put',
  path: `${adminProductsPath}/{id}/media/order`,
  summary: "Reorder a product's images (If-Match: the product's ETag)",
  request: {
    params: productIdParam,
    headers: z.object({ 'if-match': z.string().max(1000).optional() }),
    body: { required: true, content: { 'application/json': { schema: OrderBody } } },
  },
  responses: { 200: productResponse('Reordered; the body is the whole product'), ...writeResponses },
});

const removeMedia = createRoute({
  ...guarded,
  ...access('catalog:write'),
  method: 'delete',
  path: `${adminProductsPath}/{id}/media/{mediaId}`,
  summary: "Remove an image from a product (If-Match: the product's ETag)",
  request: { params: mediaParams, headers: z.object({ 'if-match': z.string().max(1000).optional() }) },
  responses: { 200: productResponse('Removed; the body is the whole product'), ...writeResponses },
});

const serveMedia = createRoute({
  method: 'get',
  path: '/media/{productId}/{file}',
  tags: ['catalog'],
  ...access('public'),
  summary: 'A product image',
  description:
    'Keys are content-addressed, so the answer never changes: cached for a year as immutable, and `If-None-Match` answers 304. With S3 storage and S3_PUBLIC_URL, a 302 to the object instead.',
  request: { params: z.object({ productId: z.string().max(36), file: z.string().max(80) }) },
  responses: {
    200: {
      description: 'The image',
      content: Object.fromEntries(acceptedTypes.map((type) => [type, { schema: z.string().openapi({ format: 'binary' }) }])),
    },
    302: { description: 'Stored in S3: follow the Location' },
    304: { description: 'Not modified' },
    404: { description: 'No such image', content: problemContent },
  },
});

function mediaOf(tx: Executor, productId: string, mediaId: string) {
  return findMedia(tx, productId, mediaId).then((row) => {
    if (!row) throw new HttpProblem(problems.notFound(`Product ${productId} has no image ${mediaId}`));
    return row;
  });
}

const fileProblem = (status: 413 | 415, title: string, message: string, detail: string) =>
  new HttpProblem({ status, slug: status === 413 ? 'payload-too-large' : 'unsupported-media-type', title, detail, errors: [{ in: 'body', field: 'file', message }] });

/** The upload's bytes and real type, or the problem that refuses it. */
async function readImage(file: File, maxBytes: number): Promise<{ bytes: Uint8Array; type: ImageType }> {
  if (file.size > maxBytes) {
    throw fileProblem(413, 'Payload Too Large', `larger than ${maxBytes} bytes`, `The image is ${file.size} bytes; at most ${maxBytes} are accepted`);
  }
  const bytes = new Uint8Array(await file.arrayBuffer());
  const type = sniffImageType(bytes);
  if (!type) {
    throw fileProblem(415, 'Unsupported Media Type', `not ${acceptedTypes.join(', ')}`, 'The file is not a JPEG, PNG, WebP or AVIF image');
  }
  return { bytes, type };
}

/** `"abc", W/"def"` contains `"abc"`: If-None-Match uses the weak comparison. */
function noneMatch(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === '*') return true;
  return header.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag);
}

export function adminMediaRoutes(app: OpenAPIHono<AppEnv>) {
  app.openapi(uploadMedia, async (c) => {
    const { id } = c.req.valid('param');
    const { file, alt } = c.req.valid('form');
    const { db, config } = c.get('deps');
    const { bytes, type } = await readImage(file, config.MEDIA_MAX_BYTES);
    // A 404 before anything is stored.
    if (!(await findAdminProduct(db, id))) throw new HttpProblem(problems.notFound(`No product ${id}`));
    const key = mediaKey(id, bytes, type);
    // Stored before the row exists, so the row never points at a missing file; a failed write leaves a
    // file no row shows, removed just below.
    await mediaStoreFor(config).put(key, bytes, type);
    try {
      const result = await writeProduct(
        db,
        id,
        c.req.valid('header')['if-match'],
        async (tx) => {
          await insertMedia(tx, id, { storageKey: key, contentType: type, bytes: bytes.byteLength, alt });
        },
        { ifMatchRequired: false },
      );
      return answer(c, result, 201);
    } catch (error) {
      await forgetMediaFiles(c, [key]);
      throw error;
    }
  });

  app.openapi(patchMedia, async (c) => {
    const { id, mediaId } = c.req.valid('param');
    const { alt } = c.req.valid('json');
    const result = await writeProduct(c.get('deps').db, id, c.req.valid('header')['if-match'], async (tx) => {
      await mediaOf(tx, id, mediaId);
      await updateMediaAlt(tx, mediaId, alt);
    });
    return answer(c, result);
  });

  app.openapi(orderMedia, async (c) => {
    const { id } = c.req.valid('param');
    const { mediaIds } = c.req.valid('json');
    const result = await writeProduct(c.get('deps').db, id, c.req.valid('header')['if-match'], async (tx) => {
      const current = await listMediaIds(tx, id);
      const same = mediaIds.length === current.length && new Set(mediaIds).size === current.length && mediaIds.every((m) => current.includes(m));
      if (!same) {
        throw new HttpProblem(problems.validation([{ in: 'body', field: 'mediaIds', message: "must list each of the product's images exactly once" }]));
      }
      await reorderMedia(tx, mediaIds);
    });
    return answer(c, result);
  });

  app.openapi(removeMedia, async (c) => {
    const { id, mediaId } = c.req.valid('param');
    let key = '';
    const result = await writeProduct(c.get('deps').db, id, c.req.valid('header')['if-match'], async (tx) => {
      key = (await mediaOf(tx, id, mediaId)).storageKey;
      await deleteMedia(tx, mediaId);
    });
    await forgetMediaFiles(c, [key]);
    return answer(c, result);
  });

  app.openapi(serveMedia, async (c) => {
    const { productId, file } = c.req.valid('param');
    const key = `${productId}/${file}`;
    const parsed = parseMediaKey(key);
    const missing = () => {
      throw new HttpProblem(problems.notFound(`No image ${key}`));
    };
    if (!parsed) return missing();
    const etag = `"${parsed.sha256}"`;
    const cacheHeaders = { ETag: etag, 'Cache-Control': immutableCacheControl };
    // The key names the content, so a cached copy with this ETag is the current one without asking storage.
    if (noneMatch(c.req.header('if-none-match'), etag)) return c.body(null, 304, cacheHeaders);
    const stored = await mediaStoreFor(c.get('deps').config).get(key);
    if (!stored) return missing();
    if (stored.kind === 'redirect') return c.redirect(stored.location, 302);
    return new Response(stored.body, {
      status: 200,
      headers: {
        ...cacheHeaders,
        'Content-Type': parsed.contentType,
        ...(stored.bytes !== undefined ? { 'Content-Length': String(stored.bytes) } : {}),
      },
    });
  });
}

