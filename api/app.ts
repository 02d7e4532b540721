import { OpenAPIHono } from '@hono/zod-openapi';
import { swaggerUI } from '@hono/swagger-ui';
import { context as otelContext, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { ServiceError, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import { methodNotAllowed } from 'hono/method-not-allowed';
import { requestId } from 'hono/request-id';
import { secureHeaders } from 'hono/secure-headers';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { ZodError } from 'zod';
import { DependencyUnavailableError, isConnectionError } from '../platform/errors';
import { catalogImportRoutes, catalogImportsPath, importContentTypes } from './catalog/imports';
import { adminCatalogContentTypes, adminCatalogRoutes } from './catalog/admin';
import { categoryRoutes } from './catalog/categories';
import { productRoutes } from './catalog/products';
import { searchRoutes } from './catalog/search';
import type { AppDeps, AppEnv } from './deps';
import { relatedRoutes } from './catalog/related';
import { healthRoutes } from './health';
import { authenticate } from './auth';
import { byClientIp, rateLimit } from './rate-limit';
import { rateLimitRules } from '../platform/rate-limit';
import { identityRoutes } from './identity/index';
import { orderRoutes } from './orders/index';
import { invoiceRoutes } from './invoicing/invoices';
import { paymentRoutes } from './payments/index';
import { fulfilmentRoutes } from './fulfilment/index';
import { returnRoutes } from './returns/index';
import { notificationRoutes } from './notifications/index';
import { adminPromotionRoutes } from './marketing/promotions';
import { adminCampaignRoutes } from './marketing/campaigns';
import { loyaltyRoutes } from './loyalty/index';
import { oauthTokenContentTypes, oauthTokenPath } from './identity/partners';
import { routeOf } from './route';
import { createHttpMetrics } from './metrics';
import { fieldPath, HttpProblem, problem, problems, type FieldError } from './problem';

const bodyTargets = new Set(['json', 'form']);

/** Zod issues → the fields the caller got wrong, including unknown keys named one by one. */
export function fieldErrors(error: ZodError, target: string): FieldError[] {
  const where: FieldError['in'] = bodyTargets.has(target) ? 'body' : target === 'param' ? 'path' : target === 'header' ? 'header' : 'query';
  return error.issues.flatMap((issue) =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => ({ in: where, field: fieldPath([...issue.path, key]), message: 'unknown field' }))
      : [{ in: where, field: fieldPath(issue.path), message: issue.message }],
  );
}

/** Bodies are JSON unless a path says otherwise; anything else is refused before it is parsed. */
function requireContentType(overrides: Record<string, string[]>): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    // Only for routes that take this method: a wrong method is a 405, not a 415.
    const routed = c.req.matchedRoutes.some((route) => route.method === c.req.method);
    if (!routed || !['POST', 'PUT', 'PATCH'].includes(c.req.method)) return next();
    // By exact path, or by route pattern for paths with parameters (`/v1/admin/products/:id/media`).
    const accepted = overrides[c.req.path] ?? overrides[routeOf(c)] ?? ['application/json'];
    const type = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
    // No body at all (a bare `POST /v1/auth/logout`) has no type to check; a route that needs a body says so itself.
    const bodyless = type === '' && !c.req.header('transfer-encoding') && (c.req.header('content-length') ?? '0') === '0';
    if (!bodyless && !accepted.includes(type)) {
      return problem(c, {
        status: 415,
        slug: 'unsupported-media-type',
        title: 'Unsupported Media Type',
        detail: `Content-Type must be ${accepted.join(' or ')}`,
        errors: [{ in: 'header', field: 'content-type', message: `expected ${accepted.join(' or ')}, got ${type || 'nothing'}` }],
        headers: { 'Accept-Post': accepted.join(', ') },
      });
    }
    return next();
  };
}

/** One span per request, continuing the caller's trace (`traceparent`), named after the matched route. */
function tracing(): MiddlewareHandler<AppEnv> {
  const tracer = trace.getTracer('comptoir-api');
  return async (c, next) => {
    // On Node the incoming message's plain header object is at hand; building a Fetch Headers copy of
    // every request's headers just to read traceparent costs more than the span itself.
    const incoming = (c.env as { incoming?: { headers: Record<string, string | string[] | undefined> } } | undefined)?.incoming;
    const parent = propagation.extract(ROOT_CONTEXT, incoming?.headers ?? Object.fromEntries(c.req.raw.headers));
    const span = tracer.startSpan(`${c.req.method} ${c.req.path}`, { kind: SpanKind.SERVER, attributes: { 'http.request.method': c.req.method, 'url.path': c.req.path } }, parent);
    await otelContext.with(trace.setSpan(parent, span), async () => {
      try {
        await next();
      } finally {
        const route = routeOf(c);
        span.updateName(`${c.req.method} ${route}`);
        span.setAttributes({ 'http.route': route, 'http.response.status_code': c.res.status, 'comptoir.request_id': c.get('requestId') });
        if (c.res.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
        span.end();
      }
    });
  };
}

function requestLogging(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const started = performance.now();
    await next();
    const { logger } = c.get('deps');
    const status = c.res.status;
    const line = { requestId: c.get('requestId'), method: c.req.method, route: routeOf(c), path: c.req.path, status, durationMs: Math.round((performance.now() - started) * 10) / 10 };
    if (status >= 500) logger.error(line, 'request failed');
    else logger.info(line, 'request');
  };
}

export function createApp(deps: AppDeps) {
  const metrics = createHttpMetrics(deps.metricsRegistry);

  const app = new OpenAPIHono<AppEnv>({
    defaultHook: (result, c) => {
      if (!result.success) {
        const errors = fieldErrors(result.error, result.target);
        return problem(c, problems.validation(errors, bodyTargets.has(result.target) ? 422 : 400));
      }
    },
  });

  app.use('*', async (c, next) => {
    c.set('deps', deps);
    await next();
  });
  app.use('*', requestId({ headerName: 'X-Request-Id' }));
  app.use('*', tracing());
  app.use('*', requestLogging());
  app.use('*', metrics.middleware);
  app.use('*', secureHeaders({ crossOriginResourcePolicy: 'same-origin' }));
  app.use('*', methodNotAllowed({
    app,
    onMethodNotAllowed: (c, allowed) =>
      problem(c, {
        status: 405,
        slug: 'method-not-allowed',
        title: 'Method Not Allowed',
        detail: `${c.req.method} is not allowed here; use ${allowed.join(', ')}`,
        headers: { Allow: allowed.join(', ') },
      }),
  }));
  const limitBody = bodyLimit({
    maxSize: deps.config.BODY_LIMIT_BYTES,
    onError: (c) =>
      problem(c, {
        status: 413,
        slug: 'payload-too-large',
        title: 'Payload Too Large',
        detail: `The request body exceeds ${deps.config.BODY_LIMIT_BYTES} bytes`,
      }),
  });
  // Reads carry no body, and merely asking for one turns Node's request into a full Fetch Request
  // (headers copied, an AbortSignal wired): a fifth of the cost of a cached product page.
  app.use('*', (c, next) => (c.req.method === 'GET' || c.req.method === 'HEAD' ? next() : limitBody(c, next)));

  app.use('/v1/*', authenticate({ clientAuthPaths: [oauthTokenPath] }));
  if (deps.config.RATE_LIMIT_API_PER_MINUTE > 0) {
    const rule = { ...rateLimitRules.api.ip, limit: deps.config.RATE_LIMIT_API_PER_MINUTE };
    const limit = rateLimit(rule, byClientIp({ trustProxy: deps.config.TRUST_PROXY }));
    // Partner webhooks are authenticated by their signature and arrive in bursts from one address.
    app.use('/v1/*', (c, next) => (c.req.path.startsWith('/v1/webhooks/') ? next() : limit(c, next)));
  }
  app.use('/v1/*', requireContentType({ [catalogImportsPath]: importContentTypes, ...adminCatalogContentTypes, [oauthTokenPath]: oauthTokenContentTypes }));

  healthRoutes(app, metrics.registry);
  productRoutes(app);
  categoryRoutes(app);
  catalogImportRoutes(app);
  searchRoutes(app);
  adminCatalogRoutes(app);
  relatedRoutes(app);
  identityRoutes(app);
  orderRoutes(app);
  invoiceRoutes(app);
  paymentRoutes(app);
  fulfilmentRoutes(app);
  returnRoutes(app);
  notificationRoutes(app);
  adminPromotionRoutes(app);
  adminCampaignRoutes(app);
  loyaltyRoutes(app);

  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'Comptoir API',
      version: '1.0.0',
      description: 'Shopper, admin and partner API of Comptoir. Errors are application/problem+json (RFC 9457).',
    },
    servers: [{ url: deps.config.PUBLIC_URL ?? `http://localhost:${deps.config.API_PORT}` }],
  });
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearerAuth', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: 'An access token from `POST /v1/auth/login` (people) or `POST /v1/oauth/token` (partner clients). Each operation names the permission it needs in `x-permission`.',
  });
  app.get('/docs', swaggerUI({ url: '/openapi.json' }));

  app.notFound((c) => problem(c, problems.notFound(`No route for ${c.req.method} ${c.req.path}`)));

  app.onError((error, c) => {
    if (error instanceof HttpProblem) return problem(c, error.init);
    if (error instanceof HTTPException) {
      const status = error.status as ContentfulStatusCode;
      const malformed = status === 400 && /json/i.test(error.message);
      return problem(c, {
        status,
        slug: malformed ? 'malformed-json' : 'http-error',
        title: malformed ? 'Malformed JSON' : error.message || 'Request rejected',
        detail: malformed ? 'The request body is not valid JSON' : error.message,
        ...(malformed ? { errors: [{ in: 'body', field: '', message: 'not valid JSON' }] } : {}),
      });
    }
    if (error instanceof WorkflowExecutionAlreadyStartedError) {
      return problem(c, { status: 409, slug: 'conflict', title: 'Conflict', detail: 'This operation is already running' });
    }
    const dependency = dependencyOf(error);
    if (dependency) {
      deps.logger.warn({ requestId: c.get('requestId'), dependency, err: { message: (error as Error).message } }, 'dependency unavailable');
      return problem(c, problems.unavailable(dependency));
    }
    deps.logger.error({ requestId: c.get('requestId'), err: error }, 'unhandled error');
    return problem(c, {
      status: 500,
      slug: 'internal',
      title: 'Internal Server Error',
      detail: 'Something went wrong on our side; quote the request id when reporting it',
    });
  });

  return app;
}

export type App = ReturnType<typeof createApp>;

/** gRPC status codes meaning the Temporal server could not be reached in time: UNAVAILABLE and DEADLINE_EXCEEDED. */
const unreachableGrpcCodes = new Set([14, 4]);

/** Which dependency an infrastructure error came from, or undefined when it is a genuine bug. */
function dependencyOf(error: unknown): string | undefined {
  if (error instanceof DependencyUnavailableError) return error.dependency;
  const codes = [(error as { code?: unknown })?.code, (error as { cause?: { code?: unknown } })?.cause?.code];
  if (error instanceof ServiceError || codes.some((code) => typeof code === 'number' && unreachableGrpcCodes.has(code))) return 'temporal';
  if (isConnectionError(error)) {
    return /redis|stream isn't writeable|enableOfflineQueue|MaxRetriesPerRequest/i.test(String((error as Error)?.message)) ? 'redis' : 'postgres';
  }
  return undefined;
}
