import type { Router } from 'express';
import { z } from 'zod';
import { getJobRow } from '../../db/advanceJob.js';
import { HttpError } from '../../errors.js';
import { enqueueChunks } from '../../jobs/enqueue.js';
import { createOnlineJob } from '../../jobs/online.js';
import { jobForIdempotencyKey } from '../../jobs/intake.js';
import { ResultFormatter, type PredictionRow } from '../../jobs/results.js';
import { FINAL_STATUSES, jobView, type JobRow } from '../../jobs/view.js';
import { resolveModel } from '../../models/resolve.js';
import { assertCallbackUrlAllowed } from '../../webhooks/ssrf.js';
import type { AppDeps } from '../deps.js';
import { defineRoute } from '../route.js';

const Cell = z.union([z.number(), z.string().max(10_000), z.null()]);

export function registerPredictionRoutes(router: Router, deps: AppDeps) {
  const { pool, config } = deps;
  const baseUrl = config.publicUrl ?? '';
  const Body = z
    .object({
      model: z.string().min(1).max(200),
      inputs: z.array(z.record(z.string().max(1000), Cell)).min(1).max(config.intake.maxPredictionRecords),
      wait: z.number().min(0).max(config.intake.maxWaitSeconds).default(0),
      idempotency_key: z.string().min(1).max(200).optional(),
      callback_url: z.string().max(2048).optional(),
    })
    .strict();

  defineRoute(
    router,
    {
      method: 'post', path: '/predictions', scope: 'jobs:write', tags: ['predictions'],
      summary: 'Score 1..N records now. With "wait" (seconds) the answer holds until the result is in: 200 with predictions, or 202 with the job link if it is not done in time.',
      body: Body,
      responses: { 200: { description: 'predictions inline' }, 202: { description: 'accepted; poll the job' }, 404: { description: 'unknown model' } },
    },
    async (req, res, { body, auth }) => {
      if (body.callback_url) assertCallbackUrlAllowed(body.callback_url, { allowPrivate: config.webhooks.allowPrivate });
      let job: JobRow | null = await jobForIdempotencyKey(pool, auth.tenantId, body.idempotency_key ?? null);
      if (!job) {
        const version = await resolveModel(pool, auth.tenantId, body.model);
        const id = await createOnlineJob(pool, { tenantId: auth.tenantId, version, records: body.inputs, idempotencyKey: body.idempotency_key ?? null, callbackUrl: body.callback_url ?? null });
        job = id ? await getJobRow(pool, id) : await jobForIdempotencyKey(pool, auth.tenantId, body.idempotency_key ?? null);
        if (id) await enqueueChunks(deps.queues.interactive, [{ jobId: id, seq: 0 }], req.log, config.worker.chunkAttempts);
      }
      const jobId = job!.id;
      const isFinal = (j: JobRow | null) => !!j && FINAL_STATUSES.includes(j.status);
      if (body.wait > 0 && !isFinal(job)) {
        await deps.waiter.wait(jobId, body.wait * 1000, async () => isFinal((job = await getJobRow(pool, jobId))));
        job = await getJobRow(pool, jobId);
      }
      if (!job || !isFinal(job)) {
        res.status(202).location(`/v1/jobs/${jobId}`).json(jobView(job!, baseUrl));
        return;
      }
      const { rows } = await pool.query<PredictionRow & { signature: never; io: never }>(
        `SELECT p.row_no, p.value, p.scores, p.passthrough, p.error FROM predictions p WHERE p.job_id = $1 ORDER BY p.row_no`,
        [jobId],
      );
      const v = await pool.query(`SELECT mv.signature, mv.io FROM jobs j JOIN model_versions mv ON mv.id = j.model_version_id WHERE j.id = $1`, [jobId]);
      const fmt = new ResultFormatter(v.rows[0].signature, v.rows[0].io.plan);
      res.status(200).json({ ...jobView(job, baseUrl), predictions: rows.map((r) => fmt.json(r)) });
    },
    { jsonLimit: config.intake.maxJsonBytes },
  );
}
