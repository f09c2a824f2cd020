import type { Request, Router } from 'express';
import type { Pool } from 'pg';
import { Readable } from 'node:stream';
import { z } from 'zod';
import { getJobRow } from '../../db/getJobRow.js';
import { findExpiredJob } from '../../db/findExpiredJob.js';
import { findJobByIdempotencyKey } from '../../db/findJobByIdempotencyKey.js';
import { listJobs } from '../../db/listJobs.js';
import { HttpError } from '../../errors.js';
import { intakeCsv } from '../../jobs/intake.js';
import { attachErrors } from '../../jobs/errorSummary.js';
import { cancel } from '../../jobs/jobEnd.js';
import { assertSameRequest, digestOf, requestDigest } from '../../jobs/requestDigest.js';
import { isFinal, JOB_STATUSES, type JobRow } from '../../db/jobRow.js';
import { jobView, viewContext } from '../../jobs/view.js';
import { assertCallbackUrlAllowed } from '../../webhooks/ssrf.js';
import type { AppDeps } from '../deps.js';
import { multipartParts } from '../multipart.js';
import { defineRoute, requestBase } from '../route.js';
import { CsvUploadRequest, Job, JobList, jobSubmitForm } from '../schemas.js';
import { decodeCursor, page } from '../cursor.js';

const DELIMITERS: Record<string, string> = { ',': ',', comma: ',', ';': ';', semicolon: ';', '\t': '\t', tab: '\t' };

const SubmitQuery = z.object({
  model: z.string().min(1).max(200).optional(),
  callback_url: z.string().max(2048).optional(),
  idempotency_key: z.string().min(1).max(200).optional(),
  delimiter: z.string().refine((d) => d in DELIMITERS, 'use ",", ";" or "tab"').optional(),
  max_error_rate: z.coerce.number().min(0).max(1).optional(),
  decimal: z.enum(['.', ',']).optional(),
});
type SubmitOptions = z.output<typeof SubmitQuery>;
/** The form fields of a multipart submission: the query's options, sent before the file. */
const FORM_FIELDS = Object.keys(SubmitQuery.shape);

const JobId = z.object({ id: z.string().uuid('job ids are UUIDs') });

export function registerJobRoutes(router: Router, deps: AppDeps) {
  const { pool, config } = deps;
  const view = viewContext(config);
  const notFound = (id: string, tenantId: string) => jobGoneError(pool, id, tenantId, config.worker.retentionTtlHours);

  defineRoute(
    router,
    {
      method: 'post', path: '/jobs', scope: 'jobs:write', tags: ['jobs'], operationId: 'submitJob',
      summary: 'Submit a CSV for scoring: the body as text/csv, or multipart/form-data with fields model, callback_url, idempotency_key, delimiter BEFORE the file field "file"',
      query: SubmitQuery,
      requestBody: {
        content: {
          'text/csv': { schema: CsvUploadRequest },
          'multipart/form-data': { schema: jobSubmitForm(SubmitQuery) },
        },
      },
      responses: {
        202: { description: 'accepted: the whole upload is stored', schema: Job },
        200: { description: 'an earlier job with the same idempotency key', schema: Job },
        404: { description: 'model_not_found: unknown model' },
        409: { description: 'idempotency_key_reused: the key was used for another request; idempotency_conflict: a concurrent request with the key made no job' },
        413: { description: 'payload_too_large: upload too large' },
        415: { description: 'unsupported_media_type: neither text/csv nor multipart/form-data' },
        422: { description: 'missing_columns, empty_upload, invalid_csv, too_many_rows, invalid_callback_url: the upload or its options cannot be scored' },
      },
    },
    async (req, res, { query, auth }) => {
      const isCsv = req.is(['text/csv', 'application/csv', 'text/plain']);
      const isForm = req.is('multipart/form-data');
      if (!isCsv && !isForm) {
        throw new HttpError('unsupported_media_type', 'Send the CSV as the body with Content-Type: text/csv (curl --data-binary @file.csv -H "Content-Type: text/csv"), or as multipart/form-data with a "file" field.');
      }
      const submit = async (opts: SubmitOptions, body: AsyncIterable<Buffer>) => {
        if (!opts.model) throw new HttpError('validation_failed', 'Name the model: ?model=name, name:3 or name@alias (or a "model" form field before the file).');
        if (opts.callback_url) assertCallbackUrlAllowed(opts.callback_url, { allowPrivate: config.webhooks.allowPrivate });
        if (opts.decimal === ',' && DELIMITERS[opts.delimiter ?? ','] === ',') {
          throw new HttpError('validation_failed', 'With decimal="," the cells cannot also be delimited by commas: pass delimiter=";" (as European spreadsheets export) or delimiter=tab.');
        }
        const key = opts.idempotency_key ?? null;
        const digest = key ? requestDigest('batch', { model: opts.model, callback_url: opts.callback_url, delimiter: DELIMITERS[opts.delimiter ?? ','], max_error_rate: opts.max_error_rate?.toString(), decimal: opts.decimal }) : null;
        const earlier = await findJobByIdempotencyKey(pool, auth.tenantId, key);
        if (earlier) {
          // A replay: the same parameters, then (read to its end, not stored) the same bytes.
          assertSameRequest(earlier, key!, { request: digest! });
          if (earlier.body_digest) assertSameRequest(earlier, key!, { request: digest!, body: await digestOf(body, config.intake.maxUploadBytes) });
          return { job: earlier as JobRow, existing: true };
        }
        const version = await deps.lookups.resolveModel(auth.tenantId, opts.model);
        return intakeCsv(
          { config, pool, queue: deps.queues.predict, log: req.log, notify: deps.notify },
          { tenantId: auth.tenantId, version, delimiter: DELIMITERS[opts.delimiter ?? ','], callbackUrl: opts.callback_url ?? null, idempotencyKey: key, requestDigest: digest, maxErrorRate: opts.max_error_rate ?? null, decimal: opts.decimal ?? '.', baseUrl: requestBase(req), body },
        );
      };

      let result: Awaited<ReturnType<typeof submit>> | undefined;
      if (isCsv) result = await submit(query, req as Readable as AsyncIterable<Buffer>);
      else result = await submitMultipart(req, query, submit, config.intake.maxUploadBytes);
      if (result.existing) req.resume();
      res.status(result.existing ? 200 : 202).location(`/v1/jobs/${result.job.id}`);
      if (result.existing) res.setHeader('Idempotent-Replayed', 'true');
      res.json(jobView(result.job, view));
    },
  );

  defineRoute(
    router,
    {
      method: 'get', path: '/jobs', scope: 'jobs:read', tags: ['jobs'], operationId: 'listJobs', summary: "The tenant's jobs, newest first; filter by status and by model (a name, or name:version)",
      query: z.object({
        status: z.enum(JOB_STATUSES).optional(),
        model: z.string().regex(/^[^:@]{1,200}(:\d{1,9})?$/, 'a model name, or name:version').optional(),
        limit: z.coerce.number().int().min(1).max(200).default(50),
        cursor: z.string().max(200).optional(),
      }),
      responses: { 200: { description: 'a page of jobs; next_cursor is null on the last page', schema: JobList } },
    },
    async (_req, res, { query, auth }) => {
      const after = query.cursor ? decodeCursor(query.cursor, JobCursor) : null;
      const [name, version] = query.model?.split(':') ?? [];
      const model = name ? { name, version: version === undefined ? undefined : Number(version) } : undefined;
      const rows = await listJobs(pool, auth.tenantId, { limit: query.limit + 1, status: query.status, model, after });
      res.json(page(rows, query.limit, (j) => jobView(j, view), (j) => ({ t: j.created_at.toISOString(), id: j.id })));
    },
  );

  defineRoute(
    router,
    {
      method: 'get', path: '/jobs/:id', scope: 'jobs:read', tags: ['jobs'], operationId: 'getJob', summary: 'A job: status, row counts, progress, timings. With ?wait=N (seconds) the answer holds until the job is finished or N seconds pass (long polling).',
      params: JobId, query: z.object({ wait: z.coerce.number().min(0).max(config.intake.maxWaitSeconds).default(0) }),
      responses: { 200: { description: 'the job', schema: Job }, 404: { description: 'job_not_found: no such job' }, 410: { description: 'job_expired: retention deleted it and its results' } },
    },
    async (_req, res, { params, query, auth }) => {
      let job = await getJobRow(pool, params.id, auth.tenantId);
      if (!job) throw await notFound(params.id, auth.tenantId);
      if (query.wait > 0 && !isFinal(job.status)) {
        await deps.waiter.wait(params.id, query.wait * 1000, async () => isFinal((await getJobRow(pool, params.id))!.status));
        job = (await getJobRow(pool, params.id, auth.tenantId))!;
      }
      // Counted as rows fail, so a running job already shows why its rows fail.
      await attachErrors(pool, [job]);
      res.json(jobView(job, view));
    },
  );

  defineRoute(
    router,
    { method: 'post', path: '/jobs/:id/cancel', scope: 'jobs:write', tags: ['jobs'], operationId: 'cancelJob', summary: 'Cancel a job: pending chunks are not scored; results so far stay readable', params: JobId, responses: { 200: { description: 'cancelled', schema: Job }, 404: { description: 'job_not_found: no such job' }, 409: { description: 'job_not_cancellable: already finished' }, 410: { description: 'job_expired: the job expired' } } },
    async (_req, res, { params, auth }) => {
      const out = await cancel(pool, params.id, auth.tenantId, view);
      if ('notFound' in out) throw await notFound(params.id, auth.tenantId);
      if ('alreadyFinal' in out) throw new HttpError('job_not_cancellable', `The job is already ${out.alreadyFinal}.`);
      await deps.notify.afterCommit(out.ended);
      res.json(jobView(out.ended.job, view));
    },
  );
}

async function submitMultipart<T>(
  req: Request,
  query: SubmitOptions,
  submit: (opts: SubmitOptions, body: AsyncIterable<Buffer>) => Promise<T>,
  maxBytes: number,
): Promise<T> {
  const opts: Record<string, unknown> = { ...query };
  let result: T | undefined;
  for await (const part of multipartParts(req, { fileSize: maxBytes, files: 1, fields: 8, fieldSize: 4096 })) {
    if (part.kind === 'field') {
      if (!FORM_FIELDS.includes(part.name)) throw new HttpError('validation_failed', `Unexpected form field "${part.name}": the fields are ${FORM_FIELDS.join(', ')} and file.`);
      opts[part.name] = part.value;
      continue;
    }
    if (part.name !== 'file') throw new HttpError('validation_failed', `Unexpected file field "${part.name}": put the CSV in the field "file".`);
    const checked = SubmitQuery.safeParse(opts);
    if (!checked.success) throw new HttpError('validation_failed', `Invalid form field "${checked.error.issues[0].path.join('.')}": ${checked.error.issues[0].message}`);
    // A file over fileSize fails its stream with a 413 (multipartParts), so intake never takes it as whole.
    result = await submit(checked.data, part.stream! as AsyncIterable<Buffer>);
    part.stream!.resume(); // an idempotent replay returns before reading the file
  }
  if (result === undefined) throw new HttpError('validation_failed', 'The form has no "file" field holding the CSV.');
  return result;
}

// The job list's keyset: exactly what it writes (an ISO timestamp, a UUID), so Postgres never sees
// a value it cannot cast: a forged cursor is the caller's 400 (src/http/cursor.ts), not our 500.
const JobCursor = z.object({
  t: z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$/).refine((t) => !Number.isNaN(Date.parse(t))),
  id: z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i),
});

/**
 * The error for a job id that finds no job: 410 `job_expired` when retention deleted it (a
 * tombstone remains), else 404. Any route reading a job by id can use it.
 */
export async function jobGoneError(pool: Pool, id: string, tenantId: string, ttlHours: number): Promise<HttpError> {
  const expired = await findExpiredJob(pool, id, tenantId);
  if (!expired) return new HttpError('job_not_found', `There is no job ${id}.`);
  const when = expired.finished_at ? ` It finished on ${expired.finished_at.toISOString()};` : '';
  return new HttpError(
    'job_expired',
    `Job ${id} has expired and was deleted with its results on ${expired.expired_at.toISOString()}.${when} jobs are kept for ${ttlHours} hours after they finish (RETENTION_TTL_HOURS). Submit the input again to score it anew.`,
    { expired_at: expired.expired_at.toISOString() },
  );
}
