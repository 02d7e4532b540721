import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../deps';
import { adminCategoryRoutes } from './admin-categories';
import { adminMediaRoutes, mediaUploadContentTypes, mediaUploadRoute } from './admin-media';
import { adminProductRoutes } from './admin-products';

/** Admin catalog management: products, variants, prices, categories and media, plus `GET /media/…`. */
export function adminCatalogRoutes(app: OpenAPIHono<AppEnv>) {
  adminMediaRoutes(app);
  adminProductRoutes(app);
  adminCategoryRoutes(app);
}

/** Bodies that are not JSON, keyed by route pattern, for the API's content-type guard. */
export const adminCatalogContentTypes: Record<string, string[]> = { [mediaUploadRoute]: mediaUploadContentTypes };
