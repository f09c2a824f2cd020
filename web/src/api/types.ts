import type { components, Job } from '@client/types';

// The wire types the dashboard reads, by name, from the typed client's generated types.
export type { Job, JobList, JobStatus, ResultRow, ResultPage, Prediction, Model, ModelSummary, ModelVersion, Alias, Key, KeyCreated, Scope, ListJobsQuery, SubmitQuery } from '@client/types';
export { FINAL_STATUSES, isFinalStatus } from '@client/types';

type Schemas = components['schemas'];
export type Session = Schemas['Session'];
export type Evaluation = Schemas['Evaluation'];
export type ClassificationEvaluation = Schemas['ClassificationEvaluation'];
export type RegressionEvaluation = Schemas['RegressionEvaluation'];
export type AgreementSummary = Schemas['AgreementSummary'];
export type AliasChange = Schemas['AliasChange'];
export type ModelAlias = Schemas['ModelAlias'];
export type RecordedEvaluation = Schemas['RecordedEvaluation'];
export type WeightedVersion = Schemas['WeightedVersion'];
export type Delivery = Schemas['Delivery'];
export type Webhook = Schemas['Webhook'];
export type WebhookWithSecret = Schemas['WebhookWithSecret'];
export type AuditEvent = Schemas['AuditEvent'];

export const JOB_STATUSES: readonly Job['status'][] = ['receiving', 'queued', 'running', 'completed', 'failed', 'cancelled'];
export const WEBHOOK_EVENTS: readonly Webhook['events'][number][] = ['job.completed', 'job.failed', 'job.cancelled', 'job.progress'];
export const ALL_SCOPES: readonly Schemas['Key']['scopes'][number][] = ['jobs:read', 'jobs:write', 'models:read', 'models:write', 'webhooks:write', 'admin'];
