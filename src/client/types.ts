import type { components, paths } from './generated/api.js';

// The wire types, by name, from the types openapi-typescript generated from /openapi.json
// (`npm run client:types` writes ./generated/api.d.ts; test/client/types.test.ts fails when the
// committed file no longer matches what the routes document).
export type { components, paths };

type Schemas = components['schemas'];
export type Job = Schemas['Job'];
export type JobList = Schemas['JobList'];
export type JobStatus = Job['status'];
export type ResultRow = Schemas['ResultRow'];
export type ResultPage = Schemas['ResultPage'];
export type Prediction = Schemas['Prediction'];
export type PredictionRequest = Schemas['PredictionRequest'];
export type Model = Schemas['Model'];
export type ModelSummary = Schemas['ModelSummary'];
export type ModelVersion = Schemas['ModelVersion'];
export type Alias = Schemas['Alias'];
export type Key = Schemas['Key'];
export type KeyCreated = Schemas['KeyCreated'];
export type KeyCreateRequest = Schemas['KeyCreateRequest'];
export type Scope = Key['scopes'][number];
export type Problem = Schemas['Problem'];
/** The stable codes of the API's problems (Problem.code). */
export type ProblemCode = Problem['code'];

/** The query options of POST /v1/jobs (model, callback_url, max_error_rate, …). */
export type SubmitQuery = NonNullable<paths['/v1/jobs']['post']['parameters']['query']>;
export type ListJobsQuery = NonNullable<paths['/v1/jobs']['get']['parameters']['query']>;
export type ResultsQuery = NonNullable<paths['/v1/jobs/{id}/results']['get']['parameters']['query']>;

export const FINAL_STATUSES: readonly JobStatus[] = ['completed', 'failed', 'cancelled'];
export const isFinalStatus = (s: string): boolean => (FINAL_STATUSES as readonly string[]).includes(s);
