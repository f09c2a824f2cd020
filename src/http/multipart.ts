import busboy from 'busboy';
import type { Request } from 'express';
import type { Readable } from 'node:stream';
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
): AsyncGenerator<MultipartPart> {
  let bb: busboy.Busboy;
  try {
    bb = busboy({ headers: req.headers, limits: { ...limits, parts: limits.fields + limits.files } });
  } catch {
    throw new HttpError('bad_request', 'The multipart body has no boundary; let your HTTP client set the Content-Type header.');
  }
  const queue: (MultipartPart | Error | null)[] = [];
  let notify: (() => void) | null = null;
  const push = (x: MultipartPart | Error | null) => {
    queue.push(x);
    notify?.();
    notify = null;
  };
  bb.on('field', (name, value, info) => {
    if (info.valueTruncated) push(new HttpError('payload_too_large', `The form field "${name}" is longer than ${limits.fieldSize} bytes.`));
    else push({ kind: 'field', name, value });
  });
  bb.on('file', (name, stream, info) => push({ kind: 'file', name, stream, filename: info.filename }));
  bb.on('partsLimit', () => push(new HttpError('bad_request', 'The form has more parts than this endpoint takes.')));
  bb.on('filesLimit', () => push(new HttpError('bad_request', 'The form has more files than this endpoint takes.')));
  bb.on('fieldsLimit', () => push(new HttpError('bad_request', 'The form has more fields than this endpoint takes.')));
  bb.on('error', (err: Error) => push(new HttpError('bad_request', `The multipart body is malformed: ${err.message}.`)));
  bb.on('close', () => push(null));
  req.on('aborted', () => push(new HttpError('bad_request', 'The upload was aborted by the client.')));
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
