import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import type { Transport } from '../transport.js';
import type { Job, SubmitQuery } from '../types.js';

// A job submission streamed from a file (any size: nothing is held in memory), telling
// `onProgress` the bytes handed to the connection. The body is POSTed as it is read (fetch with a
// ReadableStream body and duplex 'half'). Every submission carries an idempotency key (a fresh one
// unless given), so a retry after a 429/503 or a dropped connection returns the same job, never a
// second one; each attempt reads the file anew.

export interface UploadProgress {
  sentBytes: number;
  totalBytes: number | null;
}

export interface SubmitOptions extends Omit<SubmitQuery, 'model'> {
  model: string;
  onProgress?: (p: UploadProgress) => void;
  signal?: AbortSignal;
  /** Overrides the type chosen from the file name (text/csv; application/x-ndjson for .jsonl/.ndjson). */
  contentType?: string;
}

/** The Content-Type (and Content-Encoding for .gz) a file is sent with, from its name. */
export function uploadHeaders(fileName: string, contentType?: string): Record<string, string> {
  const gz = /\.gz$/i.test(fileName);
  const inner = fileName.replace(/\.gz$/i, '');
  const type = contentType ?? (/\.(jsonl|ndjson)$/i.test(inner) ? 'application/x-ndjson' : 'text/csv');
  return { 'content-type': type, ...(gz ? { 'content-encoding': 'gzip' } : {}) };
}

export async function submitFile(t: Transport, path: string, opts: SubmitOptions): Promise<Job> {
  const totalBytes = (await stat(path)).size;
  return submitBody(t, () => Readable.toWeb(createReadStream(path, { highWaterMark: 256 * 1024 })) as ReadableStream<Uint8Array>, totalBytes, uploadHeaders(path, opts.contentType), opts);
}

/** The same from bytes in memory (a small CSV made by a program). */
export async function submitBytes(t: Transport, data: string | Uint8Array, opts: SubmitOptions): Promise<Job> {
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  const source = () => new ReadableStream<Uint8Array>({ start(c) { c.enqueue(bytes); c.close(); } });
  return submitBody(t, source, bytes.byteLength, { 'content-type': opts.contentType ?? 'text/csv' }, opts);
}

async function submitBody(t: Transport, source: () => ReadableStream<Uint8Array>, totalBytes: number, headers: Record<string, string>, opts: SubmitOptions): Promise<Job> {
  const { onProgress, signal, contentType: _type, ...query } = opts;
  const idempotency_key = query.idempotency_key ?? randomUUID();
  const counted = () => {
    let sentBytes = 0;
    onProgress?.({ sentBytes, totalBytes });
    return source().pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, c) {
          c.enqueue(chunk);
          sentBytes += chunk.byteLength;
          onProgress?.({ sentBytes, totalBytes });
        },
      }),
    );
  };
  const res = await t.request('/v1/jobs', {
    method: 'POST',
    query: { ...query, idempotency_key },
    headers,
    makeBody: counted,
    idempotent: true,
    signal,
  });
  return (await res.json()) as Job;
}
