import { createWriteStream } from 'node:fs';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Transport } from '../transport.js';
import type { ResultRow, ResultsQuery } from '../types.js';

// Results read as they stream from GET /v1/jobs/{id}/results: rows one by one (NDJSON decoded,
// input order), or the bytes of any format written to a file with a progress callback. Nothing is
// held whole, so a job of any size reads in constant memory.

export type ResultsOptions = Omit<ResultsQuery, 'cursor' | 'limit'> & { signal?: AbortSignal };

export interface DownloadProgress {
  bytes: number;
  /** Lines written (rows; a CSV's header line is not counted). */
  rows: number;
}

/** The response of a results download, its body not yet read. */
export function openResults(t: Transport, id: string, opts: ResultsOptions = {}): Promise<Response> {
  const { signal, ...query } = opts;
  return t.request(`/v1/jobs/${encodeURIComponent(id)}/results`, { query, signal });
}

/** Every result row in input order (format=ndjson under the hood). */
export async function* resultRows(t: Transport, id: string, opts: Omit<ResultsOptions, 'format' | 'raw'> = {}): AsyncGenerator<ResultRow> {
  const res = await openResults(t, id, { ...opts, format: 'ndjson' });
  let rest = '';
  const decoder = new TextDecoder();
  for await (const chunk of res.body! as AsyncIterable<Uint8Array>) {
    rest += decoder.decode(chunk, { stream: true });
    const lines = rest.split('\n');
    rest = lines.pop()!;
    for (const line of lines) if (line) yield JSON.parse(line) as ResultRow;
  }
  rest += decoder.decode();
  if (rest.trim()) yield JSON.parse(rest) as ResultRow;
}

/** Writes the results to `path` (or any writable) as they arrive; resolves with the totals. */
export async function downloadResults(
  t: Transport,
  id: string,
  target: string | NodeJS.WritableStream,
  opts: ResultsOptions & { onProgress?: (p: DownloadProgress) => void } = {},
): Promise<DownloadProgress> {
  const { onProgress, ...rest } = opts;
  const res = await openResults(t, id, rest);
  const header = (rest.format ?? 'csv') === 'csv' ? 1 : 0;
  const seen: DownloadProgress = { bytes: 0, rows: 0 };
  let lines = 0;
  const count = new Transform({
    transform(chunk: Buffer, _enc, done) {
      seen.bytes += chunk.length;
      for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++;
      seen.rows = Math.max(0, lines - header);
      onProgress?.({ ...seen });
      done(null, chunk);
    },
  });
  const out = typeof target === 'string' ? createWriteStream(target) : target;
  await pipeline(Readable.fromWeb(res.body! as import('node:stream/web').ReadableStream<Uint8Array>), count, out, { end: typeof target === 'string' });
  return seen;
}
