/**
 * The baseline for `npm run bench`: a bare Hono 4 app on @hono/node-server answering `GET /v1/products`
 * with a constant small JSON list, no middleware, no database. Listens on 127.0.0.1:$PORT; stops on
 * SIGINT/SIGTERM.
 */
import { serve } from '@hono/node-server';
import { Hono } from 'hono';

const port = Number(process.env.PORT);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error('[bare-hono] PORT must be a port number');
  process.exit(2);
}

const products = {
  items: [
    { id: '00000000-0000-4000-8000-000000000001', slug: 'theiere-fonte-noire', title: 'Théière en fonte', brand: null, categories: ['maison/cuisine'], priceFrom: [{ currency: 'EUR', amount: 4990 }] },
    { id: '00000000-0000-4000-8000-000000000002', slug: 'tasse-gres-bleue', title: 'Tasse en grès', brand: 'Atelier', categories: ['maison/cuisine'], priceFrom: [{ currency: 'EUR', amount: 1290 }] },
    { id: '00000000-0000-4000-8000-000000000003', slug: 'plateau-chene', title: 'Plateau en chêne', brand: null, categories: ['maison/deco'], priceFrom: [{ currency: 'EUR', amount: 3450 }] },
  ],
  nextCursor: null,
};

const app = new Hono();
app.get('/v1/products', (c) => c.json(products));

const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port });
server.once('error', (error) => {
  console.error(`[bare-hono] ${error.message}`);
  process.exit(1);
});

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    server.close(() => process.exit(0));
    (server as unknown as { closeIdleConnections?: () => void }).closeIdleConnections?.();
    setTimeout(() => process.exit(0), 2_000).unref();
  });
}
