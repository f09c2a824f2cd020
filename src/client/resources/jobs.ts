import { eachItem } from '../lib/pages.js';
import { jobEvents, type JobEventsOptions } from '../lib/jobEvents.js';
import { downloadResults, openResults, resultRows, type DownloadProgress, type ResultsOptions } from '../lib/results.js';
import { submitBytes, submitFile, type SubmitOptions } from '../lib/upload.js';
import { waitForJob, type WaitOptions } from '../lib/waitForJob.js';
import { unwrap, type Transport } from '../transport.js';
import type { Job, JobList, ListJobsQuery, ResultPage } from '../types.js';

/** client.jobs: submit, read, wait for, cancel jobs and read their results. */
export class Jobs {
  constructor(private readonly t: Transport) {}

  /** Streams a file (CSV; JSON Lines for .jsonl) to POST /v1/jobs. */
  submitFile(path: string, opts: SubmitOptions): Promise<Job> {
    return submitFile(this.t, path, opts);
  }

  /** Submits bytes in memory. */
  submit(data: string | Uint8Array, opts: SubmitOptions): Promise<Job> {
    return submitBytes(this.t, data, opts);
  }

  /** Submits, then waits for the end. */
  async submitFileAndWait(path: string, opts: SubmitOptions & WaitOptions): Promise<Job> {
    const job = await this.submitFile(path, opts);
    return this.wait(job.id, opts);
  }

  page(query: ListJobsQuery = {}): Promise<JobList> {
    return unwrap(this.t.api.GET('/v1/jobs', { params: { query } }));
  }

  /** Every job, newest first, page after page as you iterate (`max` stops early). */
  list(query: Omit<ListJobsQuery, 'cursor'> & { max?: number } = {}): AsyncGenerator<Job> {
    const { max, ...q } = query;
    return eachItem((cursor) => this.page({ ...q, cursor }), max);
  }

  /** A job; with `wait` (seconds) the answer holds until it is finished or the time passes. */
  get(id: string, opts: { wait?: number } = {}): Promise<Job> {
    return unwrap(this.t.api.GET('/v1/jobs/{id}', { params: { path: { id }, query: opts.wait ? { wait: opts.wait } : {} } }));
  }

  cancel(id: string): Promise<Job> {
    return unwrap(this.t.api.POST('/v1/jobs/{id}/cancel', { params: { path: { id } } }));
  }

  /** Resolves with the finished job: SSE with polling as the fallback (lib/waitForJob.ts). */
  wait(id: string, opts: WaitOptions = {}): Promise<Job> {
    return waitForJob(this.t, id, opts);
  }

  /** The job's Server-Sent Events, one connection. */
  events(id: string, opts: JobEventsOptions = {}) {
    return jobEvents(this.t, id, opts);
  }

  /** Every result row in input order, streamed. */
  rows(id: string, opts: Omit<ResultsOptions, 'format' | 'raw'> = {}) {
    return resultRows(this.t, id, opts);
  }

  /** One JSON page of results (`cursor` is the last row of the page before). */
  resultsPage(id: string, opts: { cursor?: number; limit?: number; only?: 'all' | 'errors' | 'scored' } = {}): Promise<ResultPage> {
    return unwrap(this.t.api.GET('/v1/jobs/{id}/results', { params: { path: { id }, query: { ...opts, format: 'json' } } })) as Promise<ResultPage>;
  }

  /** The results response itself (CSV by default), for callers that stream the bytes. */
  openResults(id: string, opts: ResultsOptions = {}): Promise<Response> {
    return openResults(this.t, id, opts);
  }

  /** Writes the results to a file or stream as they arrive. */
  download(id: string, target: string | NodeJS.WritableStream, opts: ResultsOptions & { onProgress?: (p: DownloadProgress) => void } = {}): Promise<DownloadProgress> {
    return downloadResults(this.t, id, target, opts);
  }
}
