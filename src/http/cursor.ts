import { z } from 'zod';
import { HttpError } from '../errors.js';

// Opaque page cursors, as GET /v1/jobs gives them out: base64url JSON holding the keyset of the
// last item shown. The caller passes the schema of exactly what it wrote, so a cursor the api did
// not give out (forged, truncated, another list's) is the caller's 400, and Postgres never sees a
// value it cannot cast.

/** The `limit` and `cursor` query parameters every list takes. */
export const PageQuery = {
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(400).optional(),
};

export function encodeCursor(keyset: Record<string, string | number>): string {
  return Buffer.from(JSON.stringify(keyset)).toString('base64url');
}

export function decodeCursor<T extends z.ZodType>(cursor: string, schema: T): z.output<T> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString());
  } catch {
    value = undefined;
  }
  const r = schema.safeParse(value);
  if (!r.success) throw new HttpError('validation_failed', 'The cursor is not one this API gave out; start again without it.');
  return r.data;
}

/**
 * One page from rows fetched with `limit + 1` (the extra row only says whether a next page
 * exists): `{ data, next_cursor }`, next_cursor null on the last page.
 */
export function page<R, V>(rows: R[], limit: number, view: (r: R) => V, keyset: (r: R) => Record<string, string | number>): { data: V[]; next_cursor: string | null } {
  const shown = rows.slice(0, limit);
  return { data: shown.map(view), next_cursor: rows.length > limit && shown.length ? encodeCursor(keyset(shown.at(-1)!)) : null };
}
