import type { Router } from 'express';
import { z } from 'zod';
import { createRetry } from '../../jobs/retry.js';
import { jobView, viewContext } from '../../jobs/view.js';
import { assertCallbackUrlAllowed } from '../../webhooks/ssrf.js';
import type { AppDeps } from '../deps.js';
import { queuedRowsCap } from '../quotas.js';
import { defineRoute, requestBase } from '../route.js';
import { RetryJob, RetryRequest } from '../schemas.js';
import { jobGoneError } from './jobs.js';

// POST /v1/jobs/{id}/retry: a new job holding the failed rows of a finished job, rebuilt from the
// inputs kept with them, under their original row numbers (src/jobs/retry.ts). Its results read
// merged into the original's with GET /v1/jobs/{id}/results?merged=true (routes/results.ts).

export function registerRetryRoutes(router: Router, deps: AppDeps) {
  const { pool, config } = deps;
  const view = viewContext(config);
  // The retry queues rows like a submission: the tenant's cap on queued rows applies (at most a job's worth over it).
  router.post('/jobs/:id/retry', queuedRowsCap(deps.lookups, config.security.maxQueuedRowsPerTenant, config.intake.maxRowsPerJob));

  defineRoute(
    router,
    {
      method: 'post', path: '/jobs/:id/retry', scope: 'jobs:write', tags: ['jobs'], operationId: 'retryJob',
      summary:
        "Retry a finished job's failed rows: a new job (retry_of: this one) holding only the rows that failed, rebuilt from the inputs kept with them, each under its original row number " +
        "and with its passthrough values. By default scored by the same model version; `model` names another, which must read only columns the job was given. " +
        'Rows whose input was not kept are left out and counted (retry.rows_without_input). GET …/results?merged=true on the new job reads its results merged into the original\'s.',
      params: z.object({ id: z.string().uuid('job ids are UUIDs') }),
      body: RetryRequest,
      responses: {
        202: { description: 'the retry job, stored whole and queued', schema: RetryJob },
        200: { description: 'an earlier retry with the same idempotency key', schema: RetryJob },
        404: { description: 'job_not_found: no such job; model_not_found: unknown model' },
        409: {
          description:
            'job_not_finished: the job is still running; nothing_to_retry: it has no failed rows, or none of them kept its input; conflict: the job is already a retry 20 levels deep; ' +
            'idempotency_key_reused, idempotency_conflict: the key was used for another request',
        },
        410: { description: 'job_expired: retention deleted the job and its results' },
        422: { description: "missing_columns: the model reads columns the job's rows do not have; invalid_callback_url" },
      },
    },
    async (req, res, { params, body, auth }) => {
      if (body.callback_url) assertCallbackUrlAllowed(body.callback_url, { allowPrivate: config.webhooks.allowPrivate });
      const out = await createRetry(
        { config, pool, queue: deps.queues.predict, log: req.log, notify: deps.notify },
        {
          tenantId: auth.tenantId, jobId: params.id, model: body.model ?? null, resolve: (ref) => deps.lookups.resolveModel(auth.tenantId, ref),
          callbackUrl: body.callback_url ?? null, idempotencyKey: body.idempotency_key ?? null, baseUrl: requestBase(req),
        },
      );
      if ('notFound' in out) throw await jobGoneError(pool, params.id, auth.tenantId, config.worker.retentionTtlHours);
      res.status(out.existing ? 200 : 202).location(`/v1/jobs/${out.job.id}`);
      if (out.existing) res.setHeader('Idempotent-Replayed', 'true');
      res.json({ ...jobView(out.job, view), retry: { of: out.job.retry_of ?? params.id, rows_retried: out.counts.rowsRetried, rows_without_input: out.counts.rowsWithoutInput } });
    },
  );
}
