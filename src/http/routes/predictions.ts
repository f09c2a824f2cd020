import type { Router } from 'express';
import { modelLabels, series } from '../../metrics/series.js';
import { timeSinglePrediction } from '../httpMetrics.js';
import { getJobRow } from '../../db/getJobRow.js';
import { HttpError } from '../../errors.js';
import { enqueueChunks } from '../../jobs/enqueue.js';
import { createGroupCommitter } from '../../jobs/groupCommit.js';
import { inlineResult } from '../../jobs/finishedMessage.js';
import { attachErrors } from '../../jobs/errorSummary.js';
import { bodyDigestOf, createOnlineJob, readOnlineResults, storeOnlineJobs, type OnlineResult, type OnlineSubmission, type StoredOnlineJob } from '../../jobs/online.js';
import { INLINE_GROUP_MAX_BYTES } from '../../queue/chunkJobs.js';
import { assertSameRequest, requestDigest } from '../../jobs/requestDigest.js';
import { findJobByIdempotencyKey } from '../../db/findJobByIdempotencyKey.js';
import { pickVersion } from '../../models/canary.js';
import { formatterForJob, ResultFormatter } from '../../results/formatResults.js';
import { isFinal, type JobRow } from '../../db/jobRow.js';
import { jobView, viewContext } from '../../jobs/view.js';
import { assertCallbackUrlAllowed } from '../../webhooks/ssrf.js';
import type { AppDeps } from '../deps.js';
import { defineRoute, requestBase } from '../route.js';
import { inSpan } from '../../tracing/spans.js';
import { Job, Prediction, predictionRequest } from '../schemas.js';


export function registerPredictionRoutes(router: Router, deps: AppDeps) {
  const { pool, config } = deps;
  const view = viewContext(config);
  const stored = createGroupCommitter({ write: (subs: Omit<OnlineSubmission, 'idempotencyKey'>[]) => storeOnlineJobs(pool, subs), maxItems: 256, span: 'prediction.store' });
  // A group goes to the queue as ONE BullMQ job, which a worker scores and commits as one. Each
  // job's records ride in it as committed (up to a bound), so the worker need not load them back.
  // Enqueueing is best effort (the reconciler re-adds whatever Redis lacks): a group that could
  // not be enqueued still answers, and waits for the reconciler like any lost enqueue.
  const enqueued = createGroupCommitter({
    write: async (jobs: StoredOnlineJob[]) => {
      let room = INLINE_GROUP_MAX_BYTES;
      const refs = jobs.map(({ jobId, inline, bytes }) => {
        const carry = inline !== null && bytes <= room;
        if (carry) room -= bytes;
        return carry ? { jobId, seq: 0, inline } : { jobId, seq: 0 };
      });
      await enqueueChunks(deps.queues.interactive, refs, deps.log, config.worker.chunkAttempts, { asGroup: true });
      return jobs;
    },
    maxItems: 256,
    span: 'prediction.enqueue',
  });
  // Requests woken together (one message per finished group) read their results with one query.
  const results = createGroupCommitter({ write: (ids: string[]) => readOnlineResults(pool, ids), maxItems: 256, concurrency: 2, span: 'prediction.read' });
  const Body = predictionRequest({ maxRecords: config.intake.maxPredictionRecords, maxWaitSeconds: config.intake.maxWaitSeconds });

  defineRoute(
    router,
    {
      method: 'post', path: '/predictions', scope: 'jobs:write', tags: ['predictions'], operationId: 'createPrediction',
      summary: 'Score 1..N records now. With "wait" (seconds) the answer holds until the result is in: 200 with predictions, or 202 with the job link if it is not done in time.',
      body: Body,
      responses: {
        200: { description: 'predictions inline', schema: Prediction },
        202: { description: 'accepted; poll the job', schema: Job },
        404: { description: 'model_not_found: unknown model' },
        409: { description: 'idempotency_key_reused: the key was used for another request; idempotency_conflict: the key belongs to a batch job' },
        422: { description: 'missing_columns, invalid_records, invalid_callback_url: the records cannot be scored' },
      },
    },
    async (req, res, { body, auth }) => {
      if (body.wait > 0) timeSinglePrediction(res);
      if (body.callback_url) assertCallbackUrlAllowed(body.callback_url, { allowPrivate: config.webhooks.allowPrivate });
      const ended = (j: JobRow | null) => !!j && isFinal(j.status);
      const answer = async (jobId: string, read: boolean, fmt: ResultFormatter | null, inline: OnlineResult | null = null) => {
        // The worker's wake-up message carried the result (a small job), or after a wait (woken or
        // timed out) one round trip reads the job's row and its predictions together.
        const done = inline ?? (read ? await results.submit(jobId) : null);
        if (done && ended(done.job)) {
          const f = fmt ?? (await formatterForJob(pool, jobId))!.fmt;
          // The same view GET /v1/jobs/{id} gives, error summary included (no query when no row failed).
          await attachErrors(pool, [done.job]);
          res.status(200).json({ ...jobView(done.job, view), predictions: done.predictions.map((r) => f.json(r)) });
          return;
        }
        const job = done?.job ?? (await getJobRow(pool, jobId));
        await attachErrors(pool, [job!]);
        res.status(202).location(`/v1/jobs/${jobId}`).json(jobView(job!, view));
      };

      if (!body.idempotency_key) {
        // The common case: group commit (concurrent submissions share one INSERT and one commit;
        // each request is answered only after its own job is durable), then a grouped enqueue.
        // Through an alias split between versions, the version that scores it is drawn here (by
        // weight, or by routing_key): arithmetic on the cached split, no query.
        const { version, routing } = pickVersion(await deps.lookups.resolveModel(auth.tenantId, body.model), body.routing_key);
        const job = await stored.submit({ tenantId: auth.tenantId, version, routing, records: body.inputs, callbackUrl: body.callback_url ?? null, baseUrl: requestBase(req) });
        const jobId = job.jobId;
        series.jobsSubmitted.inc({ source: 'single', ...modelLabels(version.modelName, version.version) });
        // Waiting starts before the chunk is enqueued, so the job cannot finish unseen: no need to
        // ask Postgres first. (A lost wake-up still ends at the timeout, then reads the job.)
        const finished = body.wait > 0 ? deps.waiter.wait(jobId, body.wait * 1000, async () => false) : null;
        await enqueued.submit(job);
        const news = finished && (await finished);
        await inSpan('prediction.respond', () => answer(jobId, !!finished, new ResultFormatter(version.signature, version.io.plan), news ? inlineResult(news) : null));
        return;
      }

      const key = body.idempotency_key;
      // routing_key only when given, so requests without one keep the digest they had before it existed.
      const digest = requestDigest('online', { model: body.model, callback_url: body.callback_url, ...(body.routing_key !== undefined && { routing_key: body.routing_key }) });
      const sameRequest = (earlier: NonNullable<Awaited<ReturnType<typeof findJobByIdempotencyKey>>>) =>
        assertSameRequest(earlier, key, { request: digest, body: bodyDigestOf(JSON.stringify(body.inputs)) });
      const earlier = await findJobByIdempotencyKey(pool, auth.tenantId, key);
      if (earlier && earlier.kind !== 'online') {
        throw new HttpError('idempotency_conflict', `The idempotency key "${key}" belongs to a batch job (${earlier.id}); use another key, or read that job's results at /v1/jobs/${earlier.id}/results.`);
      }
      if (earlier) sameRequest(earlier);
      let job: JobRow | null = earlier;
      if (!job) {
        const { version, routing } = pickVersion(await deps.lookups.resolveModel(auth.tenantId, body.model), body.routing_key);
        const id = await createOnlineJob(pool, { tenantId: auth.tenantId, version, routing, records: body.inputs, idempotencyKey: key, requestDigest: digest, callbackUrl: body.callback_url ?? null, baseUrl: requestBase(req) });
        if (!id) {
          // Another request with this key won the race: it must have been this same request.
          const winner = await findJobByIdempotencyKey(pool, auth.tenantId, key);
          if (winner) sameRequest(winner);
          job = winner;
        } else job = await getJobRow(pool, id);
        if (id) series.jobsSubmitted.inc({ source: 'single', ...modelLabels(version.modelName, version.version) });
        if (id) await enqueueChunks(deps.queues.interactive, [{ jobId: id, seq: 0 }], req.log, config.worker.chunkAttempts);
      }
      const jobId = job!.id;
      const final = ended(job);
      if (body.wait > 0 && !final) await deps.waiter.wait(jobId, body.wait * 1000, async () => ended(await getJobRow(pool, jobId)));
      await answer(jobId, final || body.wait > 0, null);
    },
    { jsonLimit: config.intake.maxJsonBytes },
  );
}
