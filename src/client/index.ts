import { Jobs } from './resources/jobs.js';
import { Keys } from './resources/keys.js';
import { Models } from './resources/models.js';
import { Predictions } from './resources/predictions.js';
import { Transport, type ClientOptions } from './transport.js';

// The typed Sluice client: one object per resource, mounted on the client (as openai-node does),
// over generated types (./generated/api.d.ts) and openapi-fetch. The CLI (src/cli), the demo and
// the end-to-end tests use it.
//
//   const sluice = new Sluice({ baseUrl: 'http://localhost:8080', apiKey });
//   const job = await sluice.jobs.submitFile('data.csv', { model: 'penguins@production', onProgress });
//   await sluice.jobs.wait(job.id, { onUpdate: (j) => console.log(jobProgress(j)) });
//   for await (const row of sluice.jobs.rows(job.id)) …

export class Sluice {
  readonly transport: Transport;
  readonly jobs: Jobs;
  readonly models: Models;
  readonly keys: Keys;
  readonly predictions: Predictions;

  constructor(options: ClientOptions) {
    this.transport = new Transport(options);
    this.jobs = new Jobs(this.transport);
    this.models = new Models(this.transport);
    this.keys = new Keys(this.transport);
    this.predictions = new Predictions(this.transport);
  }

  /** The typed openapi-fetch client, for any route the resources above do not wrap. */
  get api() {
    return this.transport.api;
  }
}

export * from './errors.js';
export * from './types.js';
export { jobProgress, type JobProgress } from './lib/progress.js';
export type { ClientOptions } from './transport.js';
export type { RetryInfo, RetryOptions } from './retry.js';
export type { SubmitOptions, UploadProgress } from './lib/upload.js';
export type { WaitOptions } from './lib/waitForJob.js';
export type { DownloadProgress, ResultsOptions } from './lib/results.js';
export type { JobEvent } from './lib/jobEvents.js';
export type { PushOptions } from './resources/models.js';
export type { PredictionAnswer } from './resources/predictions.js';
