import type pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';

// Reading large bytea values (upload chunks, ~750 kB) through a normal query costs both sides
// dearly: Postgres renders the bytes as text, node-postgres decodes the whole message as a UTF-8
// string and the caller decodes that again. Measured on a 750 kB payload: ~14 ms of backend CPU and
// ~10 ms of worker CPU per chunk, against ~1 ms each through `COPY ... TO STDOUT (FORMAT binary)`,
// which hands the bytes over as they are stored.
//
// The binary COPY format: a signature, a flags field and a header extension, then tuples. A tuple
// is a 16-bit field count, then per field a 32-bit length (-1 for NULL) and that many bytes, all
// big-endian; a field count of -1 ends the data.

/**
 * Runs `COPY (query) TO STDOUT (FORMAT binary)` and returns each row's fields as raw bytes (null
 * for SQL NULL): a bytea's own bytes, a text's UTF-8. COPY takes no parameters: every value in
 * `query` must already be a validated literal.
 */
export async function copyOutRows(client: pg.ClientBase, query: string): Promise<(Buffer | null)[][]> {
  const pieces: Buffer[] = [];
  for await (const piece of client.query(copyTo(`COPY (${query}) TO STDOUT (FORMAT binary)`))) pieces.push(piece as Buffer);
  return parseCopyRows(pieces.length === 1 ? pieces[0] : Buffer.concat(pieces));
}

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A UUID in canonical text form: what may go into a COPY statement as a literal. */
export function isUuid(s: string): boolean {
  return UUID.test(s);
}

/** The rows of a binary COPY stream (header, tuples, trailer): each field's raw bytes, null for NULL. */
export function parseCopyRows(buf: Buffer): (Buffer | null)[][] {
  if (buf.length < SIGNATURE.length + 8 || !buf.subarray(0, SIGNATURE.length).equals(SIGNATURE)) throw new Error('not a binary COPY stream');
  let at = SIGNATURE.length + 4;
  at += 4 + buf.readUInt32BE(at); // header extension, skipped
  const rows: (Buffer | null)[][] = [];
  for (;;) {
    const fields = buf.readInt16BE(at);
    at += 2;
    if (fields === -1) return rows;
    const row: (Buffer | null)[] = new Array(fields);
    for (let f = 0; f < fields; f++) {
      const len = buf.readInt32BE(at);
      at += 4;
      if (len === -1) row[f] = null;
      else {
        if (at + len > buf.length) throw new Error('binary COPY stream cut short');
        row[f] = buf.subarray(at, (at += len));
      }
    }
    rows.push(row);
  }
}
