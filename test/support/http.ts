import assert from 'node:assert/strict';

/** An RFC 9457 problem document as the API writes it (`api/problem.ts`), with the OAuth members of the token endpoint. */
export type Problem = {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  requestId?: string;
  error?: string;
  error_description?: string;
  errors?: { in: string; field: string; message: string }[];
};

/** Asserts the status (showing the body when it is wrong) and parses the JSON body, if any. */
export async function json<T>(response: Response, status: number): Promise<T> {
  const text = await response.text();
  assert.equal(response.status, status, text);
  return (text ? JSON.parse(text) : undefined) as T;
}

/** Asserts the status and the problem+json content type, and returns the problem. */
export async function problem(response: Response, status: number): Promise<Problem> {
  const body = await json<Problem>(response, status);
  assert.equal(response.headers.get('content-type'), 'application/problem+json');
  return body;
}

/** The fields a validation problem names. */
export const fields = (p: Pick<Problem, 'errors'>) => p.errors?.map((e) => e.field);
