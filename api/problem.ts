import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

/** One invalid input: where it was (`body`, `query`, `path`, `header`), which field, and what is wrong with it. */
export interface FieldError {
  in: 'body' | 'query' | 'path' | 'header';
  field: string;
  message: string;
}

export interface ProblemInit {
  status: ContentfulStatusCode;
  /** Stable, documented identifier: https://comptoir.dev/problems/<slug>. */
  slug: string;
  title: string;
  detail?: string;
  errors?: FieldError[];
  headers?: Record<string, string>;
  extra?: Record<string, unknown>;
}

export const problemTypeBase = 'https://comptoir.dev/problems/';

/** An error a handler throws to answer with an RFC 9457 problem document. */
export class HttpProblem extends Error {
  constructor(readonly init: ProblemInit) {
    super(init.detail ?? init.title);
    this.name = 'HttpProblem';
  }
}

export function problemBody(c: Context, init: ProblemInit) {
  return {
    type: `${problemTypeBase}${init.slug}`,
    title: init.title,
    status: init.status,
    ...(init.detail ? { detail: init.detail } : {}),
    instance: c.req.path,
    ...(init.errors ? { errors: init.errors } : {}),
    ...init.extra,
    requestId: c.get('requestId') as string | undefined,
  };
}

export function problem(c: Context, init: ProblemInit): Response {
  const response = c.json(problemBody(c, init), init.status, init.headers);
  response.headers.set('Content-Type', 'application/problem+json');
  return response;
}

export const problems = {
  notFound: (detail: string): ProblemInit => ({ status: 404, slug: 'not-found', title: 'Not Found', detail }),
  validation: (errors: FieldError[], status: 400 | 422 = 422): ProblemInit => ({
    status,
    slug: 'validation',
    title: 'Request validation failed',
    detail: errors.map((e) => `${e.in} ${e.field || '(root)'}: ${e.message}`).join('; '),
    errors,
  }),
  unavailable: (dependency: string, retryAfterSeconds = 5): ProblemInit => ({
    status: 503,
    slug: 'dependency-unavailable',
    title: 'Service Unavailable',
    detail: `${dependency} is unavailable; nothing was lost, retry later`,
    headers: { 'Retry-After': String(retryAfterSeconds) },
    extra: { dependency },
  }),
};

/** `['variants', 0, 'sku']` → `variants.0.sku`; the root is an empty string. */
export function fieldPath(path: readonly PropertyKey[]): string {
  return path.map(String).join('.');
}
