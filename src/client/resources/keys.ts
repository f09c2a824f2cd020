import { eachItem } from '../lib/pages.js';
import { unwrap, type Transport } from '../transport.js';
import type { Key, KeyCreated, KeyCreateRequest } from '../types.js';

/** client.keys: the tenant's API keys (needs a key with the admin scope). */
export class Keys {
  constructor(private readonly t: Transport) {}

  create(body: KeyCreateRequest): Promise<KeyCreated> {
    return unwrap(this.t.api.POST('/v1/keys', { body }));
  }

  list(opts: { max?: number } = {}): AsyncGenerator<Key> {
    return eachItem((cursor) => unwrap(this.t.api.GET('/v1/keys', { params: { query: { cursor } } })), opts.max);
  }

  revoke(id: string): Promise<Key> {
    return unwrap(this.t.api.DELETE('/v1/keys/{id}', { params: { path: { id } } }));
  }
}
