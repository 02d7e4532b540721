import { z } from '@hono/zod-openapi';
import { HttpProblem, type FieldError } from '../problem';
import { Problem } from '../schemas';

/**
 * Optimistic concurrency for admin edits: a GET hands out the aggregate's version as an `ETag`, and a
 * write must send it back in `If-Match`. The write locks the row first, so of two writers holding the
 * same ETag exactly one wins and the other gets 412.
 */

export const etagOf = (version: string) => `"${version}"`;

export const ifMatchHeaders = z.object({
  'if-match': z
    .string()
    .max(1000)
    .optional()
    .openapi({ description: 'The `ETag` of the last read; required to change or delete, otherwise 428', example: '"3f2a9c…"' }),
});

const ifMatchField: FieldError = { in: 'header', field: 'if-match', message: '' };

/** RFC 9110 strong comparison: `*` matches anything that exists, weak tags never match. */
function matches(ifMatch: string, current: string): boolean {
  if (ifMatch.trim() === '*') return true;
  return ifMatch
    .split(',')
    .map((tag) => tag.trim())
    .some((tag) => tag === etagOf(current));
}

/**
 * Refuses the write unless `If-Match` names the current version. `required: false` is for actions
 * (publish, upload) whose outcome does not depend on what the caller last read: the header is then
 * checked only when sent.
 */
export function checkIfMatch(ifMatch: string | undefined, current: string, options: { required?: boolean } = {}): void {
  if (ifMatch === undefined || ifMatch.trim() === '') {
    if (options.required === false) return;
    throw new HttpProblem({
      status: 428,
      slug: 'precondition-required',
      title: 'Precondition Required',
      detail: 'Send the ETag of your last read in If-Match, so that a concurrent change is not overwritten',
      errors: [{ ...ifMatchField, message: 'required' }],
    });
  }
  if (!matches(ifMatch, current)) {
    throw new HttpProblem({
      status: 412,
      slug: 'precondition-failed',
      title: 'Precondition Failed',
      detail: 'It changed since you read it; read it again and re-apply your change',
      errors: [{ ...ifMatchField, message: 'stale: does not match the current ETag' }],
    });
  }
}

const problemContent = { 'application/problem+json': { schema: Problem } };

export const PreconditionResponses = {
  412: { description: 'If-Match does not match the current ETag: someone else changed it first', content: problemContent },
  428: { description: 'If-Match is missing', content: problemContent },
} as const;

export const ConflictResponse = {
  409: { description: 'Conflicts with existing data: `errors` names the field', content: problemContent },
} as const;

export function conflict(field: string, message: string, detail: string): HttpProblem {
  return new HttpProblem({ status: 409, slug: 'conflict', title: 'Conflict', detail, errors: [{ in: 'body', field, message }] });
}
