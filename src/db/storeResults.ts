import type pg from 'pg';
import { splitResultRows } from '../results/resultRows.js';

// One statement for every chunk of the commit. Their results go as ONE bytea parameter, cut in
// SQL: node-postgres sends a Buffer as binary, while an array of them would go as hex text (twice
// the bytes, encoded in the worker and decoded by the backend).
const STORE = `
INSERT INTO prediction_chunks (job_id, first_row, row_count, rows)
SELECT c.job_id, c.first_row, c.row_count, substring($6::bytea FROM c.start FOR c.length)
  FROM unnest($1::uuid[], $2::bigint[], $3::int[], $4::int[], $5::int[]) AS c(job_id, first_row, row_count, start, length)`;

type Stored = { jobId: string; firstRow: number; rowCount: number; rows: Uint8Array };

/**
 * Stores chunks' results (src/results/resultRows.ts), a row of prediction_chunks each, with one statement. A
 * chunk's results beyond `maxValueBytes` go as several rows (split between rows), and a statement
 * carries at most `maxStatementBytes`, more statements otherwise: Postgres takes at most 1 GB in a
 * value or a parameter. The limits are parameters for the tests.
 */
export async function storeResults(client: pg.ClientBase, chunks: Stored[], limits = { maxValueBytes: 64 << 20, maxStatementBytes: 256 << 20 }): Promise<void> {
  const pieces = chunks.flatMap((c) => splitResultRows(c.rows, c.firstRow, c.rowCount, limits.maxValueBytes).map((p) => ({ jobId: c.jobId, ...p })));
  for (let i = 0; i < pieces.length; ) {
    const batch: Stored[] = [];
    let bytes = 0;
    while (i < pieces.length && (batch.length === 0 || bytes + pieces[i].rows.byteLength <= limits.maxStatementBytes)) {
      bytes += pieces[i].rows.byteLength;
      batch.push(pieces[i++]);
    }
    await storeBatch(client, batch);
  }
}

async function storeBatch(client: pg.ClientBase, chunks: Stored[]): Promise<void> {
  const starts: number[] = [];
  let at = 1;
  for (const c of chunks) starts.push(at), (at += c.rows.byteLength);
  const bytes = chunks.length === 1 ? chunks[0].rows : Buffer.concat(chunks.map((c) => c.rows));
  await client.query({
    name: 'sluice_store_results', text: STORE,
    values: [chunks.map((c) => c.jobId), chunks.map((c) => c.firstRow), chunks.map((c) => c.rowCount), starts, chunks.map((c) => c.rows.byteLength), Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)],
  });
}
