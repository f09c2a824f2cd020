import { ApiError } from '@client/errors';
import type { Job } from '@client/types';
import { notifyUnauthorized, writeHeaders } from './http';

// POST /v1/jobs as multipart/form-data, the options as fields BEFORE the file field "file" (the api
// reads them first, then streams the file into chunks). XMLHttpRequest rather than fetch: it reports
// upload progress in every browser, and the browser streams the File from disk as it sends it, so
// the page never holds the file in memory whatever its size. Every upload carries an idempotency
// key: sending the same form again (after a dropped connection) returns the same job.

export interface UploadProgress {
  sentBytes: number;
  totalBytes: number;
}

export interface UploadOptions {
  file: File;
  /** Form fields, in order, before the file: model, delimiter, decimal, label_column, compare, callback_url… */
  fields: Record<string, string | undefined>;
  onProgress?: (p: UploadProgress) => void;
  signal?: AbortSignal;
}

export class UploadAbortedError extends Error {
  override name = 'UploadAbortedError';
}

export function idempotencyKey(): string {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  // crypto.randomUUID needs a secure context (https or localhost); a plain-http address has getRandomValues.
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
}

export function uploadJob(opts: UploadOptions): Promise<Job> {
  const form = new FormData();
  for (const [k, v] of Object.entries({ idempotency_key: idempotencyKey(), ...opts.fields })) if (v !== undefined && v !== '') form.append(k, v);
  form.append('file', opts.file, opts.file.name);
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', '/v1/jobs');
    xhr.responseType = 'text';
    for (const [k, v] of Object.entries(writeHeaders())) xhr.setRequestHeader(k, v);
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.upload.onprogress = (e) => opts.onProgress?.({ sentBytes: e.loaded, totalBytes: e.lengthComputable ? e.total : opts.file.size });
    xhr.onload = () => {
      let body: unknown = xhr.responseText;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        // not JSON (a proxy's page): kept as text for the message
      }
      if (xhr.status >= 200 && xhr.status < 300) return resolve(body as Job);
      if (xhr.status === 401) notifyUnauthorized();
      const headers = new Headers();
      const rid = xhr.getResponseHeader('x-request-id');
      if (rid) headers.set('x-request-id', rid);
      reject(ApiError.from(xhr.status, body, headers));
    };
    xhr.onerror = () => reject(new TypeError('The upload could not reach the Sluice api.'));
    xhr.onabort = () => reject(new UploadAbortedError('The upload was stopped.'));
    opts.signal?.addEventListener('abort', () => xhr.abort(), { once: true });
    xhr.send(form);
  });
}
