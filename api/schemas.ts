import { z } from '@hono/zod-openapi';

export const Money = z
  .object({
    amount: z.number().int().openapi({ description: 'Integer minor units (cents)', example: 1999 }),
    currency: z.string().length(3).openapi({ description: 'ISO 4217', example: 'EUR' }),
  })
  .openapi('Money');

/** Cursor pagination as every list uses it: default 20, at most 100; unknown parameters are refused, not ignored. */
export const pageQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(100).default(20),
    cursor: z.string().min(1).max(500).optional(),
  })
  .strict();

export const Problem = z
  .object({
    type: z.url(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string().optional(),
    instance: z.string().optional(),
    errors: z
      .array(z.object({ in: z.enum(['body', 'query', 'path', 'header']), field: z.string(), message: z.string() }))
      .optional(),
    requestId: z.string().optional(),
  })
  .openapi('Problem');

const problemContent = { 'application/problem+json': { schema: Problem } };

export const ProblemResponses = {
  400: { description: 'Malformed request or invalid query', content: problemContent },
  404: { description: 'Not found', content: problemContent },
  422: { description: 'Invalid body: `errors` names each bad field', content: problemContent },
  503: { description: 'A dependency is down; retry after `Retry-After` seconds', content: problemContent },
} as const;

export const AdminProblemResponses = {
  ...ProblemResponses,
  401: { description: 'No access token, or one that is invalid or revoked', content: problemContent },
  403: { description: 'The token does not hold the permission this route needs', content: problemContent },
  413: { description: 'Body too large', content: problemContent },
  415: { description: 'Unsupported Content-Type', content: problemContent },
} as const;

/** For routes any signed-in person may call on their own behalf. */
export const SignedInProblemResponses = {
  ...ProblemResponses,
  401: AdminProblemResponses[401],
  403: AdminProblemResponses[403],
  415: AdminProblemResponses[415],
  429: { description: 'Too many requests; retry after `Retry-After` seconds', content: problemContent },
} as const;
