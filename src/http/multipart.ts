import busboy from 'busboy';
import type { Request } from 'express';
import { PassThrough, type Readable } from 'node:stream';
import { HttpError } from '../errors.js';

export interface MultipartPart {
  kind: 'field' | 'file';
  name: string;
  value?: string;
  stream?: Readable;
  filename?: string;
}

/**
 * Iterates a multipart body in order. A file part must be consumed (or resumed) before the next
 * part arrives, which is what lets an upload stream straight through without buffering.
 */
export async function* multipartParts(
  req: Request,
  limits: { fileSize: number; fields: number; fieldSize: number; files: number },
  /** When given, exactly these part names are accepted, each at most once; anything else is a 400. */
  expect?: { fields: readonly string[]; files: readonly string[] },
): AsyncGenerator<MultipartPart> {
  let bb: busboy.Busboy;
  try {
    // busboy reports a file of exactly `fileSize` bytes as cut: one more byte makes the limit inclusive.
    bb = busboy({ headers: req.headers, limits: { ...limits, fileSize: limits.fileSize + 1, parts: limits.fields + limits.files } });
  } catch {
    throw new HttpError('bad_request', 'The multipart body has no boundary; let your HTTP client set the Content-Type header.');
  }
  const queue: (MultipartPart | Error | null)[] = [];
  let notify: (() => void) | null = null;
  let openFile: PassThrough | null = null;
  const push = (x: MultipartPart | Error | null) => {
    queue.push(x);
    notify?.();
    notify = null;
  };
  const seen = new Set<string>();
  const unexpected = (kind: 'field' | 'file', name: string): HttpError | null => {
    if (!expect) return null;
    const allowed = kind === 'field' ? expect.fields : expect.files;
    const shown = JSON.stringify(name.slice(0, 100));
    if (!allowed.includes(name)) {
      const all = [...expect.fields.map((f) => `field "${f}"`), ...expect.files.map((f) => `file "${f}"`)].join(', ');
      return new HttpError('validation_failed', `Unexpected form ${kind} ${shown}: this endpoint takes ${all}.`);
    }
    if (seen.has(name)) return new HttpError('validation_failed', `The form part ${shown} appears more than once.`);
    seen.add(name);
    return null;
  };
  bb.on('field', (name, value, info) => {
    const bad = unexpected('field', name);
    if (bad) push(bad);
    else if (info.valueTruncated) push(new HttpError('payload_too_large', `The form field "${name}" is longer than ${limits.fieldSize} bytes.`));
    else push({ kind: 'field', name, value });
  });
  bb.on('file', (name, stream, info) => {
    // The caller reads a pass-through: busboy's own failures on the file (a form cut short) become a
    // 400 rather than a bare Error, and a failure when nobody reads the part any more has a
    // listener, so it can never be an uncaught exception.
    const out = new PassThrough();
    out.on('error', () => {});
    stream.on('error', (err: Error) => out.destroy(err instanceof HttpError ? err : new HttpError('bad_request', `The multipart body is malformed: ${err.message}.`, {}, {}, { cause: err })));
    const bad = unexpected('file', name);
    if (bad) {
      stream.resume();
      push(bad);
    } else {
      // Busboy emits 'limit' as it parses, possibly before the caller has seen this part: the
      // stream itself fails, so a file over the limit can never be read as if it were whole.
      stream.once('limit', () => {
        stream.unpipe(out);
        stream.resume();
        out.destroy(new HttpError('payload_too_large', `The file in the form field "${name}" is larger than the ${limits.fileSize} bytes this endpoint takes.`));
      });
      stream.pipe(out);
      openFile = out;
      out.once('close', () => {
        if (openFile === out) openFile = null;
      });
      push({ kind: 'file', name, stream: out, filename: info.filename });
    }
  });
  bb.on('partsLimit', () => push(new HttpError('bad_request', 'The form has more parts than this endpoint takes.')));
  bb.on('filesLimit', () => push(new HttpError('bad_request', 'The form has more files than this endpoint takes.')));
  bb.on('fieldsLimit', () => push(new HttpError('bad_request', 'The form has more fields than this endpoint takes.')));
  bb.on('error', (err: Error) => push(new HttpError('bad_request', `The multipart body is malformed: ${err.message}.`, {}, {}, { cause: err })));
  bb.on('close', () => push(null));
  // A client gone mid-file must fail the file stream its reader is waiting on: busboy never
  // ends it, and the upload would hang until the watchdog.
  const aborted = () => {
    if (req.complete) return;
    const err = new HttpError('upload_aborted', 'The upload was aborted by the client before it was complete.');
    openFile?.destroy(err);
    bb.destroy();
    push(err);
  };
  req.once('aborted', aborted);
  req.once('close', aborted);
  req.pipe(bb);
  try {
    for (;;) {
      while (queue.length === 0) await new Promise<void>((r) => (notify = r));
      const next = queue.shift()!;
      if (next === null) return;
      if (next instanceof Error) throw next;
      yield next;
    }
  } finally {
    req.unpipe(bb);
    req.resume();
  }
}
