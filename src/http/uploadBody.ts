import { Buffer } from 'node:buffer';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { HttpError } from '../errors.js';

// What an upload's bytes are before intake reads them: a body as sent, or gzip-compressed (the
// request's Content-Encoding, or a multipart file part that is gzip). Decompression is a stream:
// zlib's output waits for intake to take it (backpressure), so a bomb costs time, never memory,
// and both limits are checked on every piece as it comes out.

/** What intake reads: CSV, or JSON Lines (one JSON object a line). */
export type UploadFormat = 'csv' | 'jsonl';

export type ContentCoding = 'identity' | 'gzip';

/** Past this much decompressed output the ratio is enforced: a small, very regular file may compress far better than any bomb ratio. */
export const GZIP_RATIO_GRACE_BYTES = 1024 * 1024;

export interface GunzipLimits {
  /** Decompressed bytes at most (MAX_UPLOAD_BYTES). */
  maxBytes: number;
  /** Decompressed bytes per compressed byte at most, once past GZIP_RATIO_GRACE_BYTES (MAX_GZIP_RATIO). */
  maxRatio: number;
}

/** The request body's Content-Encoding: none, or gzip; anything else is a 415 that says what is read. */
export function requestCoding(header: string | undefined): ContentCoding {
  const codings = (header ?? '').split(',').map((c) => c.trim().toLowerCase()).filter((c) => c && c !== 'identity');
  if (codings.length === 0) return 'identity';
  if (codings.length === 1 && (codings[0] === 'gzip' || codings[0] === 'x-gzip')) return 'gzip';
  throw new HttpError(
    'unsupported_media_type',
    `Content-Encoding ${JSON.stringify((header ?? '').slice(0, 100))} is not read here: send the body as is, or gzip-compressed with Content-Encoding: gzip.`,
  );
}

/** The format a multipart file part's name says (.jsonl, .ndjson, optionally .gz); CSV otherwise. */
export function fileFormat(filename: string | undefined): UploadFormat {
  return /\.(jsonl|ndjson)(\.gz)?$/i.test(filename ?? '') ? 'jsonl' : 'csv';
}

/**
 * A file part's bytes, decompressed when it is gzip: named *.gz, or starting with gzip's magic
 * bytes whatever its name or content type (CSV and JSON text never start with byte 0x1f).
 */
export async function fileBody(source: AsyncIterable<Buffer>, filename: string | undefined, limits: GunzipLimits): Promise<AsyncIterable<Buffer>> {
  const { head, body } = await peek(source, 2);
  const gzip = /\.gz$/i.test(filename ?? '') || (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b);
  return gzip ? gunzipped(body, limits) : body;
}

/** The body as intake reads it: as sent, or gunzipped under the limits. */
export function decodedBody(source: AsyncIterable<Buffer>, coding: ContentCoding, limits: GunzipLimits): AsyncIterable<Buffer> {
  return coding === 'gzip' ? gunzipped(source, limits) : source;
}

/**
 * Gunzips a stream, failing it with a 413 as soon as its output passes either limit, and with a
 * 400 invalid_gzip when the bytes are not gzip (or end before the gzip stream does). A failure of
 * the source itself (the client went away) comes out as it was, so intake still sees an abort.
 */
export async function* gunzipped(source: AsyncIterable<Buffer>, limits: GunzipLimits): AsyncGenerator<Buffer> {
  let compressed = 0;
  let decompressed = 0;
  let sourceFailed: { err: unknown } | null = null;
  async function* counted() {
    try {
      for await (const buf of source) {
        compressed += buf.length;
        yield buf;
      }
    } catch (err) {
      sourceFailed = { err };
      throw err;
    }
  }
  const gunzip = createGunzip({ chunkSize: 64 * 1024 });
  // Its failures (the source's, zlib's) also fail the iteration below, which reports them.
  pipeline(counted(), gunzip).catch(() => {});
  try {
    for await (const out of gunzip as AsyncIterable<Buffer>) {
      decompressed += out.length;
      if (decompressed > limits.maxBytes) {
        throw new HttpError('payload_too_large', `The upload decompresses to more than ${limits.maxBytes} bytes (MAX_UPLOAD_BYTES counts decompressed bytes); split it into several jobs.`);
      }
      if (decompressed > GZIP_RATIO_GRACE_BYTES && decompressed > limits.maxRatio * compressed) {
        throw new HttpError(
          'payload_too_large',
          `The gzip upload expands more than ${limits.maxRatio} times (MAX_GZIP_RATIO): ${compressed} compressed bytes became over ${decompressed} bytes, which is how a decompression bomb looks. Send it uncompressed, or ask for a higher MAX_GZIP_RATIO.`,
          { limit: 'MAX_GZIP_RATIO', max_ratio: limits.maxRatio },
        );
      }
      yield out;
    }
  } catch (err) {
    if (err instanceof HttpError) throw err;
    if (sourceFailed) throw (sourceFailed as { err: unknown }).err;
    const why = (err as Error).message;
    throw new HttpError('invalid_gzip', `The upload is not a valid gzip stream (${why}, after ${compressed} compressed bytes): compress it with gzip, or send it without Content-Encoding (and not named *.gz).`, {}, {}, { cause: err });
  } finally {
    // Stopped early (a limit, a refused header): zlib's memory goes now, and the source is released.
    gunzip.destroy();
  }
}

/** The first `n` bytes (fewer if the stream is shorter), and the whole stream again. */
async function peek(source: AsyncIterable<Buffer>, n: number): Promise<{ head: Buffer; body: AsyncIterable<Buffer> }> {
  const it = source[Symbol.asyncIterator]();
  const taken: Buffer[] = [];
  let length = 0;
  let done = false;
  while (length < n) {
    const r = await it.next();
    if (r.done) {
      done = true;
      break;
    }
    taken.push(r.value);
    length += r.value.length;
  }
  const head = Buffer.concat(taken, length);
  async function* body() {
    try {
      if (head.length) yield head;
      if (done) return;
      for (;;) {
        const r = await it.next();
        if (r.done) return;
        yield r.value;
      }
    } finally {
      if (!done) await it.return?.();
    }
  }
  return { head, body: body() };
}
