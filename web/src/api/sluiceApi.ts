import type { InjectionKey } from 'vue';
import { inject } from 'vue';
import { http, unwrap } from './http';
import { uploadJob, type UploadOptions } from './upload';
import type { ListJobsQuery, ResultPage, Scope } from './types';

// The API as the dashboard uses it: one object per resource, every call typed by the OpenAPI
// document through openapi-fetch. Components never call fetch: pages and composables get this
// object with useSluiceApi() (provided once in main.ts), so a test or a bench can provide another.

const enc = encodeURIComponent;

export function createSluiceApi() {
  return {
    sessions: {
      signIn: (key: string) => unwrap(http.POST('/v1/sessions', { body: { key } })),
      current: () => unwrap(http.GET('/v1/sessions/current')),
      signOut: () => unwrap(http.DELETE('/v1/sessions/current')),
    },
    jobs: {
      list: (query: ListJobsQuery) => unwrap(http.GET('/v1/jobs', { params: { query } })),
      get: (id: string) => unwrap(http.GET('/v1/jobs/{id}', { params: { path: { id } } })),
      cancel: (id: string) => unwrap(http.POST('/v1/jobs/{id}/cancel', { params: { path: { id } } })),
      retry: (id: string, body: { model?: string } = {}) => unwrap(http.POST('/v1/jobs/{id}/retry', { params: { path: { id } }, body })),
      /** A first page of results as JSON (the preview); downloads use resultsUrl. */
      results: (id: string, limit: number, only: 'all' | 'errors' | 'scored' = 'all') =>
        unwrap(http.GET('/v1/jobs/{id}/results', { params: { path: { id }, query: { format: 'json', limit, only } }, parseAs: 'json' })) as Promise<ResultPage>,
      /** A plain link: the browser downloads it with the session cookie, streamed to disk. */
      resultsUrl: (id: string, format: 'csv' | 'ndjson', only?: 'errors') => `/v1/jobs/${enc(id)}/results?format=${format}${only ? `&only=${only}` : ''}`,
      deliveries: (id: string) => unwrap(http.GET('/v1/jobs/{id}/deliveries', { params: { path: { id } } })),
      redeliver: (deliveryId: string) => unwrap(http.POST('/v1/deliveries/{id}/retry', { params: { path: { id: deliveryId } } })),
      upload: (opts: UploadOptions) => uploadJob(opts),
      eventsUrl: (id: string) => `/v1/jobs/${enc(id)}/events`,
    },
    models: {
      list: (cursor?: string) => unwrap(http.GET('/v1/models', { params: { query: { cursor, limit: 200 } } })),
      get: (name: string) => unwrap(http.GET('/v1/models/{name}', { params: { path: { name } } })),
      version: (name: string, version: number) => unwrap(http.GET('/v1/models/{name}/versions/{version}', { params: { path: { name, version } } })),
      setAlias: (name: string, alias: string, body: { version: number } | { versions: { version: number; weight: number }[] }) =>
        unwrap(http.PUT('/v1/models/{name}/aliases/{alias}', { params: { path: { name, alias } }, body })),
      rollback: (name: string, alias: string) => unwrap(http.POST('/v1/models/{name}/aliases/{alias}/rollback', { params: { path: { name, alias } } })),
      history: (name: string, alias: string) => unwrap(http.GET('/v1/models/{name}/aliases/{alias}/history', { params: { path: { name, alias }, query: { limit: 50 } } })),
      /** Registers a version: multipart with the fields before the file (the browser streams the File). */
      register: (name: string, fields: { model: File; signature: string; description?: string; metrics?: string }) => {
        const form = new FormData();
        form.set('signature', fields.signature);
        if (fields.metrics) form.set('metrics', fields.metrics);
        if (fields.description) form.set('description', fields.description);
        form.set('model', fields.model, fields.model.name);
        return unwrap(http.POST('/v1/models/{name}/versions', { params: { path: { name } }, body: form as never }));
      },
    },
    predictions: {
      create: (body: { model: string; inputs: Record<string, string | number | null>[]; wait?: number }) => unwrap(http.POST('/v1/predictions', { body: { wait: 0, ...body } })),
    },
    webhooks: {
      list: () => unwrap(http.GET('/v1/webhooks', { params: { query: { limit: 100 } } })),
      create: (body: { url: string; events: ('job.completed' | 'job.failed' | 'job.cancelled' | 'job.progress')[]; description?: string }) => unwrap(http.POST('/v1/webhooks', { body })),
      setDisabled: (id: string, disabled: boolean) => unwrap(http.PATCH('/v1/webhooks/{id}', { params: { path: { id } }, body: { disabled } })),
      remove: (id: string) => unwrap(http.DELETE('/v1/webhooks/{id}', { params: { path: { id } } })),
      rotateSecret: (id: string, overlapSeconds: number) => unwrap(http.POST('/v1/webhooks/{id}/rotate-secret', { params: { path: { id } }, body: { overlap_seconds: overlapSeconds } })),
    },
    keys: {
      list: (cursor?: string) => unwrap(http.GET('/v1/keys', { params: { query: { cursor, limit: 100 } } })),
      create: (body: { scopes: Scope[]; name?: string }) => unwrap(http.POST('/v1/keys', { body })),
      revoke: (id: string) => unwrap(http.DELETE('/v1/keys/{id}', { params: { path: { id } } })),
    },
    audit: {
      list: (before?: string) => unwrap(http.GET('/v1/audit', { params: { query: { before, limit: 50 } } })),
    },
    events: {
      tenantUrl: '/v1/events',
    },
  };
}

export type SluiceApi = ReturnType<typeof createSluiceApi>;
export const SluiceApiKey: InjectionKey<SluiceApi> = Symbol('SluiceApi');

export function useSluiceApi(): SluiceApi {
  const api = inject(SluiceApiKey);
  if (!api) throw new Error('useSluiceApi() outside the app: main.ts provides it');
  return api;
}
