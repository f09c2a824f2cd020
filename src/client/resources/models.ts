import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { eachItem } from '../lib/pages.js';
import { unwrap, type Transport } from '../transport.js';
import type { Alias, Model, ModelSummary, ModelVersion } from '../types.js';

export interface PushOptions {
  /** The .onnx file: a path, or its bytes. */
  model: string | Uint8Array;
  /** The signature: an object, or its JSON text. */
  signature: unknown;
  metrics?: Record<string, unknown>;
  description?: string;
}

/** client.models: register versions, list and read models, point aliases. */
export class Models {
  constructor(private readonly t: Transport) {}

  list(opts: { max?: number } = {}): AsyncGenerator<ModelSummary> {
    return eachItem((cursor) => unwrap(this.t.api.GET('/v1/models', { params: { query: { cursor } } })), opts.max);
  }

  get(name: string): Promise<Model> {
    return unwrap(this.t.api.GET('/v1/models/{name}', { params: { path: { name } } }));
  }

  version(name: string, version: number): Promise<ModelVersion> {
    return unwrap(this.t.api.GET('/v1/models/{name}/versions/{version}', { params: { path: { name, version } } }));
  }

  /** Registers a new version: POST /v1/models/{name}/versions as multipart (fields before the file). */
  async push(name: string, opts: PushOptions): Promise<ModelVersion> {
    const bytes = typeof opts.model === 'string' ? await readFile(opts.model) : opts.model;
    const form = new FormData();
    form.set('signature', typeof opts.signature === 'string' ? opts.signature : JSON.stringify(opts.signature));
    if (opts.metrics) form.set('metrics', JSON.stringify(opts.metrics));
    if (opts.description) form.set('description', opts.description);
    form.set('model', new Blob([Buffer.from(bytes)]), typeof opts.model === 'string' ? basename(opts.model) : `${name}.onnx`);
    // The generated body type describes the form's fields; a FormData is what is sent.
    return unwrap(this.t.api.POST('/v1/models/{name}/versions', { params: { path: { name } }, body: form as never }));
  }

  setAlias(name: string, alias: string, version: number): Promise<Alias> {
    return unwrap(this.t.api.PUT('/v1/models/{name}/aliases/{alias}', { params: { path: { name, alias } }, body: { version } }));
  }
}
