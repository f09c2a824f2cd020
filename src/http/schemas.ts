import { z } from 'zod';
import { AgreementSummarySchema, EvaluationSchema } from '../evaluation/schemas.js';
import { SCOPES } from '../auth/keys.js';
import { JOB_STATUSES } from '../db/jobRow.js';
import { ERROR_CODES, type ErrorCode } from '../errors.js';
import { SignatureSchema } from '../models/signature.js';
import { JOB_EVENT_TYPES } from '../webhooks/eventTypes.js';

// The named shapes of what the API sends and takes. Each has an `id` (zod's global registry), so
// /openapi.json (src/http/routes/openapi.ts) lists it once in components.schemas and refers to it
// by $ref. Ids ending in "Request" are request bodies (rendered as zod's input); the others are
// responses (rendered as zod's output). The views that build responses are typed by these schemas,
// and test/http/openapiConformance.test.ts checks real responses against the document.

const Time = z.string().meta({ format: 'date-time' });
const Uuid = z.string().meta({ format: 'uuid' });

const EXAMPLE_JOB_ID = '0b7d3c2e-5f4a-4c1b-9e8d-2a6f1c3b4d5e';
const EXAMPLE_BASE = 'https://sluice.example.com';
const jobExample = {
  id: EXAMPLE_JOB_ID,
  object: 'job',
  kind: 'batch',
  status: 'completed',
  model: { name: 'penguins', version: 2 },
  rows: { total: 3, received: 3, succeeded: 2, failed: 1 },
  progress: { fraction: 1, rows_done: 3, rows_total: 3, rate_rows_per_second: 8.3, eta_seconds: 0, started_at: '2026-01-02T10:00:00.120Z', updated_at: '2026-01-02T10:00:00.480Z' },
  error: null,
  errors: [{ code: 'invalid_number', message: 'column "bill_length_mm": "abc" is not a number', count: 1, first_rows: [3] }],
  callback_url: null,
  created_at: '2026-01-02T10:00:00.000Z',
  started_at: '2026-01-02T10:00:00.120Z',
  finished_at: '2026-01-02T10:00:00.480Z',
  expires_at: '2026-01-09T10:00:00.480Z',
  duration_ms: 480,
  links: {
    self: `${EXAMPLE_BASE}/v1/jobs/${EXAMPLE_JOB_ID}`,
    results: `${EXAMPLE_BASE}/v1/jobs/${EXAMPLE_JOB_ID}/results`,
    deliveries: `${EXAMPLE_BASE}/v1/jobs/${EXAMPLE_JOB_ID}/deliveries`,
    cancel: `${EXAMPLE_BASE}/v1/jobs/${EXAMPLE_JOB_ID}/cancel`,
  },
};

export const Problem = z
  .looseObject({
    type: z.string(),
    title: z.string(),
    status: z.number().int().min(400).max(599),
    code: z.enum(Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]]).describe('A stable code: branch on this, not on `detail`.'),
    detail: z.string(),
    instance: z.string().optional(),
    request_id: z.string().optional(),
    errors: z.array(z.looseObject({ path: z.string(), message: z.string(), in: z.string().optional() })).optional().describe('validation_failed, invalid_signature: every issue found'),
    unknown: z.array(z.string()).optional().describe('unknown_parameter: the parameters the route does not take'),
    expired_at: Time.optional().describe('job_expired: when retention deleted the job'),
  })
  .meta({
    id: 'Problem',
    description: 'An RFC 9457 problem. Fields beyond these may be added for a given code.',
    examples: [{ type: 'about:blank#job_not_found', title: 'job not found', status: 404, code: 'job_not_found', detail: `There is no job ${EXAMPLE_JOB_ID}.`, instance: `/v1/jobs/${EXAMPLE_JOB_ID}`, request_id: 'b1c2d3' }],
  });

export const JobErrorSummary = z.object({ code: z.string(), message: z.string(), count: z.number().int(), first_rows: z.array(z.number().int()) }).meta({ id: 'JobErrorSummary', description: 'A kind of row error: how many rows failed so, and the first of them' });

const JobRouting = z
  .object({
    alias: z.string(),
    versions: z.array(z.object({ version: z.number().int(), weight: z.number() })),
    chose: z.enum(['weighted', 'routing_key', 'heaviest', 'canary']).describe('weighted: drawn by weight; routing_key: by the request\'s routing key; heaviest / canary: a bulk job pinned to the heaviest or the lighter version'),
  })
  .meta({ id: 'JobRouting' });

export const Job = z
  .object({
    id: Uuid,
    object: z.literal('job'),
    kind: z.enum(['batch', 'online']),
    status: z.enum(JOB_STATUSES),
    model: z.object({ name: z.string(), version: z.number().int() }),
    rows: z.object({ total: z.number().int().nullable().describe('null until the upload is read whole'), received: z.number().int(), succeeded: z.number().int(), failed: z.number().int() }),
    progress: z
      .object({
        fraction: z.number().min(0).max(1).nullable().describe('null until the upload is read whole'),
        rows_done: z.number().int(),
        rows_total: z.number().int().nullable(),
        rate_rows_per_second: z.number().nullable().describe('Rows done per second since the job started; null before a row is done'),
        eta_seconds: z.number().nullable().describe('The rows left at that rate; 0 once completed; null when unknown or the job will not go on'),
        started_at: Time.nullable(),
        updated_at: Time.nullable().describe('When the job last moved (a chunk scored, upload bytes stored)'),
      })
      .meta({ id: 'JobProgress' }),
    error: z.object({ code: z.string(), message: z.string().nullable() }).nullable(),
    errors: z.array(JobErrorSummary).optional().describe('The most frequent kinds of row error (one job\'s view and its webhooks)'),
    callback_url: z.string().nullable(),
    created_at: Time,
    started_at: Time.nullable(),
    finished_at: Time.nullable(),
    expires_at: Time.nullable().describe('When retention deletes the finished job and its results'),
    duration_ms: z.number().int().nullable(),
    links: z.object({ self: z.string(), results: z.string(), deliveries: z.string(), cancel: z.string() }),
    label_column: z.string().optional().describe("An evaluation job: the column of true labels"),
    dataset_sha256: z.string().nullable().optional().describe('An evaluation job: the sha256 of the uploaded file, naming the dataset its figures are about'),
    evaluation: EvaluationSchema.nullable().optional().describe("An evaluation job: the model's figures against the labels, computed while scoring; null until the job ends"),
    record_evaluation: z.boolean().optional().describe('The evaluation is stored on the model version when the job completes (record=true)'),
    compare: z
      .object({
        model: z.object({ name: z.string(), version: z.number().int() }),
        evaluation: EvaluationSchema.nullable().optional().describe("With a label column: the second model's figures; null until the job ends"),
        agreement: AgreementSummarySchema.nullable().describe('How often the two models agree; null until the job ends'),
      })
      .optional()
      .describe('A compare job: the second model every row was also scored with'),
    retry_of: Uuid.optional().describe('A retry job: the job whose failed rows it holds'),
    retry_of_url: z.string().optional(),
    routing: JobRouting.optional().describe('How a model reference to an alias split between versions chose this job\'s version'),
  })
  .meta({ id: 'Job', examples: [jobExample] });

export const JobList = z.object({ data: z.array(Job), next_cursor: z.string().nullable() }).meta({ id: 'JobList', examples: [{ data: [jobExample], next_cursor: null }] });

const rowExample = { row: 1, prediction: 'Adelie', probabilities: { Adelie: 0.97, Chinstrap: 0.02, Gentoo: 0.01 }, error: null };
export const ResultRow = z
  .object({
    row: z.number().int().min(1).describe("The row number in the upload, from 1 (a retry job's rows: their numbers in the original's upload)"),
    passthrough: z.record(z.string(), z.string().nullable()).optional().describe("The signature's passthrough columns as uploaded"),
    prediction: z.union([z.string(), z.number(), z.array(z.number()), z.null()]).describe('A label (classification), a number (regression), the raw outputs (raw); null when the row failed'),
    probabilities: z.record(z.string(), z.number()).optional(),
    error: z.string().nullable(),
    input: z.unknown().optional().describe('only=errors: the row as uploaded'),
  })
  .meta({ id: 'ResultRow', examples: [rowExample] });

export const ResultPage = z
  .object({ job_status: z.enum(JOB_STATUSES), data: z.array(ResultRow), next_cursor: z.number().int().nullable().describe('Pass as ?cursor= for the next page; null on the last') })
  .meta({ id: 'ResultPage', examples: [{ job_status: 'completed', data: [rowExample], next_cursor: null }] });

export const Prediction = Job.extend({ predictions: z.array(ResultRow) }).meta({
  id: 'Prediction',
  description: 'The finished job with its predictions inline',
  examples: [{ ...jobExample, kind: 'online', rows: { total: 1, received: 1, succeeded: 1, failed: 0 }, errors: [], predictions: [rowExample] }],
});

// POST /v1/jobs/{id}/retry (src/jobs/retry.ts).
export const RetryRequest = z
  .object({
    model: z.string().min(1).max(200).optional().describe("Another model reference (name:version, name@alias) to score the failed rows with; it must read only columns the original was given. Default: the version the original was pinned to"),
    callback_url: z.string().max(2048).optional(),
    idempotency_key: z.string().min(1).max(200).optional(),
  })
  .strict()
  .meta({ id: 'RetryRequest', description: 'Every field optional; the body may be left out', examples: [{ model: 'penguins:3' }] });
const RETRY_JOB_ID = '5d2c9b1a-3e4f-4a6b-8c7d-9e0f1a2b3c4d';
export const RetryJob = Job.extend({
  retry: z
    .object({
      of: Uuid.describe('The job whose failed rows this one holds'),
      rows_retried: z.number().int().describe('Failed rows sent again, each under its original row number'),
      rows_without_input: z.number().int().nullable().describe("Failed rows left out because their input was not kept (stored before inputs were kept, or over 1 MiB); null for a replay whose original is gone"),
    }),
}).meta({
  id: 'RetryJob',
  description: 'The new job holding the failed rows; its results show the original row numbers, and ?merged=true reads them merged into the original\'s',
  examples: [{
    ...jobExample, id: RETRY_JOB_ID, status: 'queued', rows: { total: 1, received: 1, succeeded: 0, failed: 0 }, errors: [], started_at: null, finished_at: null, expires_at: null, duration_ms: null,
    progress: { fraction: 0, rows_done: 0, rows_total: 1, rate_rows_per_second: null, eta_seconds: null, started_at: null, updated_at: '2026-01-02T11:00:00.000Z' },
    links: { self: `${EXAMPLE_BASE}/v1/jobs/${RETRY_JOB_ID}`, results: `${EXAMPLE_BASE}/v1/jobs/${RETRY_JOB_ID}/results`, deliveries: `${EXAMPLE_BASE}/v1/jobs/${RETRY_JOB_ID}/deliveries`, cancel: `${EXAMPLE_BASE}/v1/jobs/${RETRY_JOB_ID}/cancel` },
    created_at: '2026-01-02T11:00:00.000Z', retry_of: EXAMPLE_JOB_ID, retry_of_url: `${EXAMPLE_BASE}/v1/jobs/${EXAMPLE_JOB_ID}`,
    retry: { of: EXAMPLE_JOB_ID, rows_retried: 1, rows_without_input: 0 },
  }],
});

const evaluationExample = {
  task: 'classification', rows_evaluated: 68, missing_label: 0, unknown_label: 0, unknown_label_examples: [], unscored: 0,
  accuracy: 0.985, macro_f1: 0.98, weighted_f1: 0.985, log_loss: 0.061,
  per_class: [{ label: 'Adelie', precision: 0.97, recall: 1, f1: 0.985, support: 32 }, { label: 'Chinstrap', precision: 1, recall: 0.93, f1: 0.964, support: 14 }, { label: 'Gentoo', precision: 1, recall: 1, f1: 1, support: 22 }],
  confusion_matrix: { labels: ['Adelie', 'Chinstrap', 'Gentoo'], counts: [[32, 0, 0], [1, 13, 0], [0, 0, 22]] },
};
const signatureExample = { columns: ['bill_length_mm', 'bill_depth_mm'], task: 'classification', labels: ['Adelie', 'Chinstrap', 'Gentoo'], missing: 'error', passthrough: [] };
const versionExample = {
  name: 'penguins', version: 2, created_at: '2026-01-02T09:00:00.000Z', sha256: 'a'.repeat(64), size_bytes: 2048,
  signature: signatureExample, inputs: [], outputs: [], rewrites: [], metrics: { accuracy: 0.97 }, description: null, aliases: ['production'], feeds: [],
  evaluations: [{ id: '7', job_id: EXAMPLE_JOB_ID, dataset_digest: 'b'.repeat(64), label_column: 'species', rows: 68, metrics: evaluationExample, created_at: '2026-01-02T10:00:01.000Z' }],
  alias_weights: [{ alias: 'production', weight: 90, share: 0.9 }],
};
// Alias changes (issue 14: canary, history, rollback, promotion guard; src/models/canary.ts).
const WeightedVersion = z
  .object({ version: z.number().int(), weight: z.number().int() })
  .meta({ id: 'WeightedVersion', description: 'A version an alias routes to and its weight: its share of the traffic is weight / the sum of the weights' });
const Target = z.array(WeightedVersion).describe('Heaviest first (ties: the higher version); one version alone weighs 1');
const aliasTargetExample = [{ version: 1, weight: 90 }, { version: 2, weight: 10 }];
const aliasChangeExample = {
  id: '12', object: 'alias_change', name: 'penguins', alias: 'production', action: 'split', from: [{ version: 1, weight: 1 }], to: aliasTargetExample,
  by: { key_id: '6f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a0b', key_prefix: 'sluice_sk_6f1e2d' }, at: '2026-01-02T11:00:00.000Z',
  guard: { metric: 'macro_f1', min: 0.9, checked: [{ version: 2, value: 0.96, evaluation_id: '7' }] },
};
export const AliasChange = z
  .object({
    id: z.string(), object: z.literal('alias_change'), name: z.string(), alias: z.string(),
    action: z.enum(['set', 'split', 'rollback']).describe('set: to one version; split: between versions by weight; rollback: back to the target before the latest change'),
    from: Target.nullable().describe('The target before the change; null when the change created the alias'),
    to: Target,
    by: z.object({ key_id: Uuid.nullable(), key_prefix: z.string().nullable() }).describe('The API key that made the change'),
    at: Time,
    guard: z
      .object({ metric: z.string(), min: z.number().optional(), max: z.number().optional(), checked: z.array(z.object({ version: z.number().int(), value: z.number(), evaluation_id: z.string() })) })
      .nullable()
      .describe('The promotion guard the change passed, with the figure each promoted version showed'),
  })
  .meta({ id: 'AliasChange', examples: [aliasChangeExample] });
export const AliasChangeList = z.object({ data: z.array(AliasChange), next_cursor: z.string().nullable() }).meta({ id: 'AliasChangeList', examples: [{ data: [aliasChangeExample], next_cursor: null }] });

export const RecordedEvaluation = z
  .object({
    id: z.string(), job_id: Uuid, dataset_digest: z.string().nullable().describe('sha256 of the labelled upload'), label_column: z.string(), rows: z.number().int(),
    metrics: EvaluationSchema.describe("The evaluation job's figures (its `evaluation`)"), created_at: Time,
  })
  .meta({ id: 'RecordedEvaluation', description: 'An evaluation recorded on a version (an evaluation job with record=true)' });

export const ModelVersion = z
  .object({
    name: z.string(), version: z.number().int(), created_at: Time, sha256: z.string(), size_bytes: z.number().int(),
    signature: SignatureSchema, inputs: z.array(z.any()), outputs: z.array(z.any()), rewrites: z.array(z.string()),
    metrics: z.record(z.string(), z.any()).nullable(), description: z.string().nullable(),
    aliases: z.array(z.string()).describe('The aliases that stand for this version (of a split: its heaviest version)'),
    feeds: z.array(z.record(z.string(), z.any())).describe('How each graph input is fed: from which columns, with which type and missing policy'),
    evaluations: z.array(RecordedEvaluation).describe('Its latest recorded evaluations, newest first (at most 5)'),
    alias_weights: z
      .array(z.object({ alias: z.string(), weight: z.number().int(), share: z.number().min(0).max(1) }))
      .describe("Every alias routing traffic to this version (a canary's included), with its weight and share of the alias's traffic"),
  })
  .meta({ id: 'ModelVersion', examples: [versionExample] });

export const ModelVersionList = z.object({ data: z.array(ModelVersion), next_cursor: z.string().nullable() }).meta({ id: 'ModelVersionList', examples: [{ data: [versionExample], next_cursor: null }] });

const modelAliasExample = { alias: 'production', version: 1, versions: aliasTargetExample, updated_at: '2026-01-02T11:00:00.000Z', recent_changes: [aliasChangeExample] };
export const ModelAlias = z
  .object({
    alias: z.string(), version: z.number().int().describe('The heaviest version (ties: the higher): what the alias stands for alone'), versions: Target, updated_at: Time,
    recent_changes: z.array(AliasChange).describe('Its latest changes, newest first (at most 5); GET …/aliases/{alias}/history has them all'),
  })
  .meta({ id: 'ModelAlias', examples: [modelAliasExample] });

export const Model = z
  .object({
    name: z.string(), latest_version: z.number().int(), aliases: z.record(z.string(), z.number().int()).describe('alias → the version it stands for (of a split: the heaviest)'),
    alias_details: z.array(ModelAlias).describe('Each alias: its current target with weights and its recent history'), versions: z.array(ModelVersion),
  })
  .meta({ id: 'Model', examples: [{ name: 'penguins', latest_version: 2, aliases: { production: 1 }, alias_details: [modelAliasExample], versions: [versionExample] }] });

const modelSummaryExample = { name: 'penguins', created_at: '2026-01-02T09:00:00.000Z', latest_version: 2, versions: 2, aliases: { production: 2 } };
export const ModelSummary = z
  .object({ name: z.string(), created_at: Time, latest_version: z.number().int(), versions: z.number().int(), aliases: z.record(z.string(), z.number().int()) })
  .meta({ id: 'ModelSummary', examples: [modelSummaryExample] });
export const ModelList = z.object({ data: z.array(ModelSummary), next_cursor: z.string().nullable() }).meta({ id: 'ModelList', examples: [{ data: [modelSummaryExample], next_cursor: null }] });

export const Alias = z
  .object({
    name: z.string(), alias: z.string(), version: z.number().int().describe('The heaviest version (ties: the higher): what a bulk job pins by default'),
    versions: Target.describe('Every version the alias routes to, heaviest first (ties: the higher version); one version alone weighs 1'), updated_at: Time,
  })
  .meta({ id: 'Alias', examples: [{ name: 'penguins', alias: 'production', version: 1, versions: aliasTargetExample, updated_at: '2026-01-02T11:00:00.000Z' }] });
/** The figures a promotion guard can name: the evaluation's top-level numbers (src/evaluation/report.ts). */
export const GUARD_METRICS = ['accuracy', 'macro_f1', 'weighted_f1', 'log_loss', 'rmse', 'mae', 'r2'] as const;
const SplitVersion = z.object({ version: z.number().int().min(1).max(1e9), weight: z.number().int().min(1).max(10_000) }).strict();
export const AliasRequest = z
  .object({
    version: z.number().int().min(1).max(1e9).optional().describe('All traffic to this version'),
    versions: z
      .array(SplitVersion)
      .min(1)
      .max(10)
      .refine((vs) => new Set(vs.map((v) => v.version)).size === vs.length, 'name each version once')
      .optional()
      .describe('Traffic split between versions by integer weight (1 to 10 000): single predictions through the alias are scored by a version drawn by weight (by their routing_key when they give one); a bulk job pins the heaviest'),
    require: z
      .object({
        evaluation: z
          .object({ metric: z.enum(GUARD_METRICS), min: z.number().optional(), max: z.number().optional() })
          .strict()
          .refine((e) => e.min !== undefined || e.max !== undefined, 'give "min" (a figure where higher is better) or "max" (an error figure such as rmse), or both'),
      })
      .strict()
      .optional()
      .describe("Promotion guard: every version the change gives a larger share of traffic must have a latest recorded evaluation within these bounds, else 409 promotion_guard_failed"),
  })
  .strict()
  .refine((b) => (b.version === undefined) !== (b.versions === undefined), { message: 'give either "version" or "versions", not both', path: ['version'] })
  .meta({
    id: 'AliasRequest',
    description: 'Exactly one of "version" and "versions"',
    examples: [{ version: 2 }, { versions: [{ version: 2, weight: 10 }, { version: 1, weight: 90 }], require: { evaluation: { metric: 'macro_f1', min: 0.9 } } }],
  });

const keyExample = { id: '6f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a0b', object: 'api_key', name: 'ci', prefix: 'sk_live_6f1e', scopes: ['jobs:read', 'jobs:write'], created_at: '2026-01-02T09:00:00.000Z', last_used_at: null, revoked_at: null };
export const Key = z
  .object({ id: Uuid, object: z.literal('api_key'), name: z.string().nullable(), prefix: z.string(), scopes: z.array(z.enum(SCOPES)), created_at: Time, last_used_at: Time.nullable(), revoked_at: Time.nullable() })
  .meta({ id: 'Key', examples: [keyExample] });
export const KeyCreated = Key.extend({ key: z.string().describe('The key itself, shown in this response only') }).meta({ id: 'KeyCreated', examples: [{ ...keyExample, key: 'sk_live_6f1e...' }] });
export const KeyList = z.object({ data: z.array(Key), next_cursor: z.string().nullable() }).meta({ id: 'KeyList', examples: [{ data: [keyExample], next_cursor: null }] });
export const KeyCreateRequest = z
  .object({ scopes: z.array(z.enum(SCOPES)).min(1).max(SCOPES.length), name: z.string().min(1).max(100).optional() })
  .strict()
  .meta({ id: 'KeyCreateRequest', examples: [{ scopes: ['jobs:read', 'jobs:write'], name: 'ci' }] });

const auditExample = { id: '42', object: 'audit_event', at: '2026-01-02T09:00:00.000Z', actor: { type: 'key', id: keyExample.id }, action: 'key.created', target: keyExample.id, ip: '203.0.113.7', request_id: 'b1c2d3', details: {} };
export const AuditEvent = z
  .object({
    id: z.string(), object: z.literal('audit_event'), at: Time, actor: z.object({ type: z.enum(['key', 'cli', 'system']), id: z.string() }),
    action: z.string(), target: z.string().nullable(), ip: z.string().nullable(), request_id: z.string().nullable(), details: z.record(z.string(), z.unknown()),
  })
  .meta({ id: 'AuditEvent', examples: [auditExample] });
export const AuditPage = z.object({ data: z.array(AuditEvent), next_before: z.string().nullable() }).meta({ id: 'AuditPage', examples: [{ data: [auditExample], next_before: null }] });

const webhookExample = {
  id: '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d', object: 'webhook_endpoint', url: 'https://hooks.example.com/sluice', events: ['job.completed', 'job.failed'], description: null,
  status: 'enabled', disabled_at: null, disabled_reason: null, secret_fingerprint: 'whsec_…3f2a', previous_secret_expires_at: null, created_at: '2026-01-02T09:00:00.000Z', updated_at: '2026-01-02T09:00:00.000Z',
};
const Event = z.enum(JOB_EVENT_TYPES);
export const Webhook = z
  .object({
    id: Uuid, object: z.literal('webhook_endpoint'), url: z.string(), events: z.array(Event), description: z.string().nullable(), status: z.enum(['enabled', 'disabled']),
    disabled_at: Time.nullable(), disabled_reason: z.string().nullable(), secret_fingerprint: z.string().nullable(), previous_secret_expires_at: Time.nullable(), created_at: Time, updated_at: Time,
  })
  .meta({ id: 'Webhook', examples: [webhookExample] });
export const WebhookWithSecret = Webhook.extend({ secret: z.string().describe('The signing secret, shown in this response only') }).meta({ id: 'WebhookWithSecret', examples: [{ ...webhookExample, secret: 'whsec_…' }] });
export const WebhookList = z.object({ data: z.array(Webhook), next_cursor: z.string().nullable() }).meta({ id: 'WebhookList', examples: [{ data: [webhookExample], next_cursor: null }] });

const Events = z.array(Event).min(1).max(JOB_EVENT_TYPES.length).transform((a) => [...new Set(a)]);
const Url = z.string().min(1).max(2048);
export const WebhookCreateRequest = z
  .object({ url: Url, events: Events, description: z.string().max(500).optional() })
  .meta({ id: 'WebhookCreateRequest', examples: [{ url: 'https://hooks.example.com/sluice', events: ['job.completed', 'job.failed'] }] });
export const WebhookUpdateRequest = z
  .object({ url: Url.optional(), events: Events.optional(), description: z.string().max(500).nullable().optional(), disabled: z.boolean().optional() })
  .meta({ id: 'WebhookUpdateRequest', examples: [{ disabled: false }] });
export const SecretRotateRequest = z
  .object({ overlap_seconds: z.number().int().min(0).max(7 * 24 * 3600).optional().describe('How long the old secret keeps signing beside the new one; 0 revokes it at once (a leak)') })
  .meta({ id: 'SecretRotateRequest', examples: [{ overlap_seconds: 86400 }] });

const defaultSecretExample = { secret_fingerprint: 'whsec_…3f2a', previous_secret_expires_at: null, created_at: '2026-01-02T09:00:00.000Z', rotated_at: null };
export const DefaultSecret = z
  .object({ secret: z.string().optional().describe('Only in the response that created it'), secret_fingerprint: z.string().nullable(), previous_secret_expires_at: Time.nullable(), created_at: Time, rotated_at: Time.nullable() })
  .meta({ id: 'DefaultSecret', examples: [defaultSecretExample] });
export const DefaultSecretShown = DefaultSecret.extend({ secret: z.string() }).meta({ id: 'DefaultSecretShown', examples: [{ ...defaultSecretExample, secret: 'whsec_…' }] });

const deliveryExample = {
  id: '1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f', object: 'webhook_delivery', webhook_id: 'msg_2b3c4d', event: 'job.completed', job_id: EXAMPLE_JOB_ID,
  destination: { type: 'endpoint', endpoint_id: webhookExample.id, url: webhookExample.url }, status: 'delivered', attempt_count: 1, next_attempt_at: null,
  last_status_code: 200, last_error: null, created_at: '2026-01-02T10:00:00.500Z', delivered_at: '2026-01-02T10:00:00.620Z', failed_at: null,
  attempts: [{ attempt: 1, started_at: '2026-01-02T10:00:00.510Z', url: webhookExample.url, address: '203.0.113.9', status_code: 200, latency_ms: 110, outcome: 'delivered', error: null, response_excerpt: 'ok' }],
};
const Attempt = z.object({
  attempt: z.number().int(), started_at: Time, url: z.string(), address: z.string().nullable(), status_code: z.number().int().nullable(), latency_ms: z.number(),
  outcome: z.string(), error: z.string().nullable(), response_excerpt: z.string().nullable(),
});
export const Delivery = z
  .object({
    id: Uuid, object: z.literal('webhook_delivery'), webhook_id: z.string(), event: Event, job_id: Uuid,
    destination: z.object({ type: z.enum(['callback', 'endpoint']), endpoint_id: Uuid.nullable(), url: z.string() }),
    status: z.enum(['pending', 'delivered', 'failed']), attempt_count: z.number().int(), next_attempt_at: Time.nullable(), last_status_code: z.number().int().nullable(),
    last_error: z.string().nullable(), created_at: Time, delivered_at: Time.nullable(), failed_at: Time.nullable(), attempts: z.array(Attempt),
  })
  .meta({ id: 'Delivery', examples: [deliveryExample] });
export const DeliveryList = z.object({ data: z.array(Delivery) }).meta({ id: 'DeliveryList', examples: [{ data: [deliveryExample] }] });

export const Health = z.object({ status: z.literal('ok') }).meta({ id: 'Health', examples: [{ status: 'ok' }] });
export const Ready = z
  .object({ status: z.enum(['ready', 'unavailable', 'draining']), checks: z.record(z.string(), z.string()) })
  .meta({ id: 'Ready', examples: [{ status: 'ready', checks: { postgres: 'ok', redis: 'ok' } }] });
export const OpenApiDocumentSchema = z
  .looseObject({ openapi: z.string(), info: z.looseObject({ title: z.string(), version: z.string() }), paths: z.record(z.string(), z.unknown()) })
  .meta({ id: 'OpenApiDocument', examples: [{ openapi: '3.1.0', info: { title: 'Sluice', version: '1' }, paths: {} }] });

const Cell = z.union([z.number(), z.string().max(10_000), z.null()]);
/** POST /v1/predictions; the limits come from the config, so routes build it per app (the document shows the defaults' shape). */
export function predictionRequest(limits: { maxRecords: number; maxWaitSeconds: number }) {
  return z
    .object({
      model: z.string().min(1).max(200).describe('name, name:version or name@alias'),
      inputs: z.array(z.record(z.string().max(1000), Cell)).min(1).max(limits.maxRecords),
      wait: z.number().min(0).max(limits.maxWaitSeconds).default(0).describe('Seconds to hold the answer for the result'),
      idempotency_key: z.string().min(1).max(200).optional(),
      callback_url: z.string().max(2048).optional(),
      routing_key: z.string().min(1).max(200).optional().describe('Through an alias split between versions: the same key is always scored by the same version while the weights stay (e.g. a user id); without one, a version is drawn by weight'),
    })
    .strict()
    .meta({ id: 'PredictionRequest', examples: [{ model: 'penguins@production', inputs: [{ bill_length_mm: 39.1, bill_depth_mm: 18.7 }], wait: 5 }] });
}

// Bodies that are not JSON: their multipart forms and the raw CSV, named like the JSON ones.
const Binary = z.string().meta({ format: 'binary' });
export const CsvUploadRequest = z.string().meta({ id: 'CsvUploadRequest', description: 'The CSV: a header line naming the signature\'s columns, then one record a line', examples: ['bill_length_mm,bill_depth_mm\n39.1,18.7\n46.5,17.9\n'] });
/** The multipart form of POST /v1/jobs: the query's options as fields, sent BEFORE the file field "file". */
export function jobSubmitForm(options: z.ZodObject) {
  return options
    .extend({ file: Binary.describe('The CSV; the last part of the form') })
    .meta({ id: 'JobSubmitFormRequest', examples: [{ model: 'penguins@production', file: 'bill_length_mm,bill_depth_mm\n39.1,18.7\n' }] });
}
export const ModelVersionFormRequest = z
  .object({
    model: Binary.describe('The .onnx file'),
    signature: z.string().describe('The signature, as JSON'),
    metrics: z.string().optional().describe('A JSON object of metrics'),
    description: z.string().optional(),
  })
  .meta({ id: 'ModelVersionFormRequest', examples: [{ model: '(the .onnx file)', signature: '{"columns":["bill_length_mm","bill_depth_mm"],"task":"classification","labels":["Adelie","Chinstrap","Gentoo"]}' }] });
