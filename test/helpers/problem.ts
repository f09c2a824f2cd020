import { expect } from 'vitest';

/** Asserts a problem+json answer with this status and stable code, and a detail a person can act on. */
export async function expectProblem(res: Response, status: number, code: string): Promise<Record<string, any>> {
  const text = await res.text();
  expect(res.status, text).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
  const body = JSON.parse(text);
  expect(body.code).toBe(code);
  expect(body.detail.length).toBeGreaterThan(10);
  expect(body.request_id).toBe(res.headers.get('x-request-id'));
  return body;
}
