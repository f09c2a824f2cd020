import type { Request, Router } from 'express';
import { modelLabels, series } from '../../metrics/series.js';
import type { Pool } from 'pg';
import { Readable } from 'node:stream';
import { z } from 'zod';
import { getJobRow } from '../../db/getJobRow.js';
import { findExpiredJob } from '../../db/findExpiredJob.js';
import { findJobByIdempotencyKey } from '../../db/findJobByIdempotencyKey.js';
import { listJobs } from '../../db/listJobs.js';
import { HttpError } from '../../errors.js';
import { intakeUpload } from '../../jobs/intake.js';
import { attachErrors } from '../../jobs/errorSummary.js';
import { cancel } from '../../jobs/jobEnd.js';
import { assertSameRequest, digestOf, requestDigest } from '../../jobs/requestDigest.js';
import { isFinal, JOB_STATUSES, type JobRow } from '../../db/jobRow.js';
import { jobView, viewContext } from '../../jobs/view.js';
import { assertCallbackUrlAllowed } from '../../webhooks/ssrf.js';
import type { AppDeps } from '../deps.js';
import { multipartParts } from '../multipart.js';
import { decodedBody, fileBody, fileFormat, requestCoding, type GunzipLimits, type UploadFormat } from '../uploadBody.js';
import { defineRoute, requestBase } from '../route.js';
import { CsvUploadRequest, Job, JobList, jobSubmitForm } from '../schemas.js';
import type { ResolvedVersion } from '../../models/resolve.js';
import { featureColumns } from '../../models/inputs.js';
import { pinForJob } from '../../models/canary.js';
import { decodeCursor, page } from '../cursor.js';

const DELIMITERS: Record<string, string> = { ',': ',', comma: ',', ';': ';', semicolon: ';', '\t': '\t', tab: '\t' };

const SubmitQuery = z.object({
  model: z.string().min(1).max(200).optional(),
  callback_url: z.string().max(2048).optional(),
  idempotency_key: z.string().min(1).max(200).optional(),
  delimiter: z.string().refine((d) => d in DELIMITERS, 'use ",", ";" or "tab"').optional(),
  max_error_rate: z.coerce.number().min(0).max(1).optional(),
  decimal: z.enum(['.', ',']).optional(),
  label_column: z.string().trim().min(1).max(200).optional().describe("An evaluation job: the column holding each row's true label; the job shows an evaluation"),
  compare: z.string().min(1).max(200).optional().describe('A compare job: a second model reference (name:version, name@alias) every row is also scored with'),
  record: z.enum(['true', 'false']).optional().describe('With label_column: also store the evaluation on the model version when the job completes'),
  version_choice: z
    .enum(['heaviest', 'canary'])
    .optional()
    .describe('A model alias split between versions (a canary): the job pins the heaviest version (default), or with canary the lighter one; the job says which (routing)'),
});
type SubmitOptions = z.output<typeof SubmitQuery>;
/** The form fields of a multipart submission: the query's options, sent before the file. */
const FORM_FIELDS = Object.keys(SubmitQuery.shape);

const JobId = z.object({ id: z.string().uuid('job ids are UUIDs') });

/** The body media types read as JSON Lines (one JSON object a line). */
const JSON_LINES_TYPES = ['application/x-ndjson', 'application/jsonl'];
const CSV_TYPES = ['text/csv', 'application/csv', 'text/plain'];
const JsonLinesUploadRequest = z.string().meta({
  id: 'JsonLinesUploadRequest',
  description:
    "JSON Lines (the OpenAI Batch API's input shape): one JSON object a line, keyed by column name (keys matched exactly). The first record must hold every column the model reads; a later line that is not a JSON object fails that row only; blank lines are skipped. May be gzip-compressed (Content-Encoding: gzip).",
  examples: ['{"bill_length_mm": 39.1, "bill_depth_mm": 18.7}\n{"bill_length_mm": 46.5, "bill_depth_mm": 17.9}\n'],
});

export function registerJobRoutes(router: Router, deps: AppDeps) {
  const { pool, config } = deps;
  const view = viewContext(config);
  const notFound = (id: string, tenantId: string) => jobGoneError(pool, id, tenantId, config.worker.retentionTtlHours);

  defineRoute(
    router,
    {
      method: 'post', path: '/jobs', scope: 'jobs:write', tags: ['jobs'], operationId: 'submitJob',
      summary:
        'Submit a CSV or JSON Lines file for scoring: the body as text/csv or application/x-ndjson (either may be sent with Content-Encoding: gzip), or multipart/form-data with fields model, callback_url, idempotency_key, delimiter BEFORE the file field "file" (*.csv, *.jsonl, *.ndjson, each optionally gzip-compressed: *.csv.gz, or any gzip content)',
      query: SubmitQuery,
      requestBody: {
        content: {
          'text/csv': { schema: CsvUploadRequest },
          'application/x-ndjson': { schema: JsonLinesUploadRequest },
          'application/jsonl': { schema: JsonLinesUploadRequest },
          'multipart/form-data': { schema: jobSubmitForm(SubmitQuery) },
        },
      },
      responses: {
        202: { description: 'accepted: the whole upload is stored', schema: Job },
        200: { description: 'an earlier job with the same idempotency key', schema: Job },
        404: { description: 'model_not_found: unknown model (or compare model)' },
        409: { description: 'idempotency_key_reused: the key was used for another request; idempotency_conflict: a concurrent request with the key made no job' },
        400: { description: 'invalid_gzip: a body sent with Content-Encoding: gzip (or a gzip file part) is not valid gzip; validation_failed (an option or form field does not fit), unknown_parameter, upload_aborted, bad_request (a malformed form)' },
        413: { description: 'payload_too_large: the upload, decompressed, is over MAX_UPLOAD_BYTES, or a gzip upload expands more than MAX_GZIP_RATIO times (a decompression bomb)' },
        415: { description: 'unsupported_media_type: not text/csv, application/x-ndjson (application/jsonl) or multipart/form-data, or a Content-Encoding other than gzip' },
        422: {
          description:
            'missing_columns, empty_upload, invalid_csv, invalid_records (the first JSON Lines record is not an object), too_many_rows, record_too_large, invalid_callback_url: the upload or its options cannot be scored; missing_label_column, evaluation_not_supported, incompatible_models: the evaluation or comparison asked for cannot be made',
        },
      },
    },
    async (req, res, { query, auth }) => {
      const bodyFormat: UploadFormat | null = req.is(CSV_TYPES) ? 'csv' : req.is(JSON_LINES_TYPES) ? 'jsonl' : null;
      const isForm = req.is('multipart/form-data');
      if (!bodyFormat && !isForm) {
        throw new HttpError(
          'unsupported_media_type',
          'Send the CSV as the body with Content-Type: text/csv (curl --data-binary @file.csv -H "Content-Type: text/csv"), JSON Lines with Content-Type: application/x-ndjson, or either as multipart/form-data with a "file" field.',
        );
      }
      const coding = requestCoding(req.headers['content-encoding']);
      if (isForm && coding !== 'identity') {
        throw new HttpError('unsupported_media_type', 'A multipart form is read without Content-Encoding: compress the file itself instead (a part named data.csv.gz or holding gzip bytes).');
      }
      // Decompressed bytes count against MAX_UPLOAD_BYTES, and a bomb is cut as it expands (uploadBody.ts).
      const gunzipLimits: GunzipLimits = { maxBytes: config.intake.maxUploadBytes, maxRatio: config.intake.maxGzipRatio };
      const submit = async (opts: SubmitOptions, body: AsyncIterable<Buffer>, format: UploadFormat) => {
        if (!opts.model) throw new HttpError('validation_failed', 'Name the model: ?model=name, name:3 or name@alias (or a "model" form field before the file).');
        if (opts.callback_url) assertCallbackUrlAllowed(opts.callback_url, { allowPrivate: config.webhooks.allowPrivate });
        // Options that would do nothing are refused, as unknown parameters are.
        if (format === 'jsonl' && (opts.delimiter !== undefined || opts.decimal !== undefined)) {
          throw new HttpError('validation_failed', 'delimiter and decimal are CSV options: a JSON Lines record holds JSON numbers (or strings with a decimal point).');
        }
        if (opts.decimal === ',' && DELIMITERS[opts.delimiter ?? ','] === ',') {
          throw new HttpError('validation_failed', 'With decimal="," the cells cannot also be delimited by commas: pass delimiter=";" (as European spreadsheets export) or delimiter=tab.');
        }
        if (opts.record === 'true' && !opts.label_column) throw new HttpError('validation_failed', 'record=true stores an evaluation on the model version: name the column of true labels with label_column.');
        const key = opts.idempotency_key ?? null;
        // Options added later enter the digest only when given, so a replay of an older request still matches its digest.
        const lifecycle = Object.fromEntries(Object.entries({ label_column: opts.label_column, compare: opts.compare, record: opts.record, version_choice: opts.version_choice, format: format === 'csv' ? undefined : format }).filter(([, v]) => v !== undefined));
        const digest = key ? requestDigest('batch', { model: opts.model, callback_url: opts.callback_url, delimiter: DELIMITERS[opts.delimiter ?? ','], max_error_rate: opts.max_error_rate?.toString(), decimal: opts.decimal, ...lifecycle }) : null;
        const earlier = await findJobByIdempotencyKey(pool, auth.tenantId, key);
        if (earlier) {
          // A replay: the same parameters, then (read to its end, not stored) the same bytes.
          assertSameRequest(earlier, key!, { request: digest! });
          if (earlier.body_digest) assertSameRequest(earlier, key!, { request: digest!, body: await digestOf(body, config.intake.maxUploadBytes) });
          return { job: earlier as JobRow, existing: true };
        }
        // A bulk job through an alias split between versions pins one of them (and says which): its
        // rows are never spread over two models.
        const { version, routing } = pinForJob(await deps.lookups.resolveModel(auth.tenantId, opts.model), opts.version_choice ?? 'heaviest');
        const compare = opts.compare ? pinForJob(await deps.lookups.resolveModel(auth.tenantId, opts.compare), 'heaviest').version : null;
        checkLifecycle(version, compare, opts.label_column);
        series.uploadsInProgress.inc();
        try {
          const out = await intakeUpload(
            { config, pool, queue: deps.queues.predict, log: req.log, notify: deps.notify },
            {
              tenantId: auth.tenantId, version, delimiter: DELIMITERS[opts.delimiter ?? ','], callbackUrl: opts.callback_url ?? null, idempotencyKey: key, requestDigest: digest, maxErrorRate: opts.max_error_rate ?? null, decimal: opts.decimal ?? '.', baseUrl: requestBase(req), body,
              labelColumn: opts.label_column ?? null, compare, recordEvaluation: opts.record === 'true', routing, format,
            },
          );
          if (!out.existing) series.jobsSubmitted.inc({ source: format, ...modelLabels(version.modelName, version.version) });
          return out;
        } finally {
          series.uploadsInProgress.dec();
        }
      };

      let result: Awaited<ReturnType<typeof submit>> | undefined;
      if (bodyFormat) result = await submit(query, decodedBody(req as Readable as AsyncIterable<Buffer>, coding, gunzipLimits), bodyFormat);
      else result = await submitMultipart(req, query, submit, config.intake.maxUploadBytes, gunzipLimits);
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
      res.json(page(rows, query.limit, (j) => jobView(j, view), (j) => ({ t: j.cursor_t, id: j.id })));
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

/**
 * What an evaluation or compare job needs of its models: figures exist for classifiers and
 * regressors (not raw outputs), the label column is not one the model reads as an input, and two
 * compared models do the same kind of task.
 */
function checkLifecycle(version: ResolvedVersion, compare: ResolvedVersion | null, labelColumn: string | undefined) {
  const name = (v: ResolvedVersion) => `${v.modelName}:${v.version}`;
  for (const v of compare ? [version, compare] : [version]) {
    if (v.signature.task === 'raw' && (labelColumn || compare)) {
      throw new HttpError('evaluation_not_supported', `${name(v)} returns raw outputs (task "raw"): evaluations and comparisons need a classification or regression model.`);
    }
    if (labelColumn && featureColumns(v.io.plan, v.signature).some((c) => c.toLowerCase() === labelColumn.toLowerCase())) {
      throw new HttpError('evaluation_not_supported', `"${labelColumn}" is an input of ${name(v)}; label_column must name the column of true labels, which the model does not read.`);
    }
  }
  if (compare && compare.signature.task !== version.signature.task) {
    throw new HttpError('incompatible_models', `${name(version)} is a ${version.signature.task} model and ${name(compare)} a ${compare.signature.task} model: compare two models of the same task.`);
  }
}

async function submitMultipart<T>(
  req: Request,
  query: SubmitOptions,
  submit: (opts: SubmitOptions, body: AsyncIterable<Buffer>, format: UploadFormat) => Promise<T>,
  maxBytes: number,
  gunzipLimits: GunzipLimits,
): Promise<T> {
  const opts: Record<string, unknown> = { ...query };
  let result: T | undefined;
  for await (const part of multipartParts(req, { fileSize: maxBytes, files: 1, fields: FORM_FIELDS.length, fieldSize: 4096 })) {
    if (part.kind === 'field') {
      if (!FORM_FIELDS.includes(part.name)) throw new HttpError('validation_failed', `Unexpected form field "${part.name}": the fields are ${FORM_FIELDS.join(', ')} and file.`);
      opts[part.name] = part.value;
      continue;
    }
    if (part.name !== 'file') throw new HttpError('validation_failed', `Unexpected file field "${part.name}": put the CSV or JSON Lines file in the field "file".`);
    const checked = SubmitQuery.safeParse(opts);
    if (!checked.success) throw new HttpError('validation_failed', `Invalid form field "${checked.error.issues[0].path.join('.')}": ${checked.error.issues[0].message}`);
    // A file over fileSize fails its stream with a 413 (multipartParts), so intake never takes it as
    // whole. The file's name says its format (*.jsonl, *.ndjson, else CSV); gzip is known by name or by its bytes.
    result = await submit(checked.data, await fileBody(part.stream! as AsyncIterable<Buffer>, part.filename, gunzipLimits), fileFormat(part.filename));
    part.stream!.resume(); // an idempotent replay returns before reading the file
  }
  if (result === undefined) throw new HttpError('validation_failed', 'The form has no "file" field holding the CSV or JSON Lines file.');
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
