import type { Queue } from 'bullmq';
import type { RedisClient } from '../queue/redis.js';
import type { Advanced } from './jobEnd.js';
import type { JobRow } from '../db/jobRow.js';
import type { Logger } from '../log.js';
import { enqueueDeliveries } from '../webhooks/outbox.js';
import { finishedMessage } from './finishedMessage.js';
import { progressMessage } from './progressMessage.js';

/**
 * What happens after a transaction that finished a job (or progressed it) commits: waiting
 * requests are woken, live progress watchers told (a batch job that moved), and webhook deliveries
 * are handed to their queue. All are best effort: a lost wake-up ends in the waiter's timeout, a
 * lost progress message is made good by the next one (each names the job's latest state), a lost
 * enqueue is redone by the reconciler.
 */
export class JobFinishedNotifier {
  constructor(
    private readonly redis: RedisClient,
    private readonly channel: string,
    private readonly webhooks: Queue,
    private readonly log: Logger,
    /** Where batch jobs that moved without finishing are told (progressMessage.ts), for live progress. */
    private readonly progressChannel?: string,
    /** Told of every job whose end just committed, once (the process's metrics: jobs finished, durations). */
    private readonly onEnded?: (jobs: JobRow[]) => void,
  ) {}

  async afterCommit(adv: Pick<Advanced, 'job' | 'finished' | 'deliveries'>) {
    await this.afterCommitMany([adv]);
  }

  /**
   * Several jobs' news in one publish and one enqueue (the small jobs of one group commit).
   * `rows`, given with the commit that finished a small job (POST /v1/predictions: one chunk), are
   * all its results (src/results/resultRows.ts): they go in the message, so a request waiting on the job need
   * not read them back.
   */
  async afterCommitMany(advs: (Pick<Advanced, 'job' | 'finished' | 'deliveries'> & { rows?: Uint8Array })[]) {
    const small = (a: (typeof advs)[number]) => a.job!.kind === 'online' && a.job!.chunks_total === 1;
    const finished = advs.flatMap((a) => (a.finished && a.job ? [{ job: a.job, rows: small(a) ? a.rows : undefined }] : []));
    if (finished.length && this.onEnded) this.onEnded(finished.map((f) => f.job));
    const deliveries = advs.flatMap((a) => a.deliveries);
    // Batch jobs only: a single prediction's one news is its end, already on the finished channel.
    const moved = advs.flatMap((a) => (!a.finished && a.job?.kind === 'batch' ? [a.job] : []));
    const tasks: Promise<unknown>[] = [];
    if (finished.length) tasks.push(this.redis.publish(this.channel, finishedMessage(finished)));
    if (moved.length && this.progressChannel) tasks.push(this.redis.publish(this.progressChannel, progressMessage(moved)));
    if (deliveries.length) tasks.push(enqueueDeliveries(this.webhooks, deliveries));
    const results = await Promise.allSettled(tasks);
    for (const r of results) if (r.status === 'rejected') this.log.warn({ err: String(r.reason) }, 'post-commit notification failed; the reconciler will catch up');
  }

  /**
   * Batch jobs a worker has just started (their first chunk taken): watchers see "running" then,
   * not with the first chunk's commit, seconds later on a large chunk. Best effort, like the rest.
   */
  async started(jobs: { id: string; tenant: string }[]) {
    if (!jobs.length || !this.progressChannel) return;
    const moved = jobs.map((j) => ({ id: j.id, tenant: j.tenant, status: 'running' as const, chunks_done: 0, rows_done: 0, rows_total: null }));
    await this.redis.publish(this.progressChannel, JSON.stringify(moved)).catch((err) => this.log.warn({ err: String(err) }, 'could not tell watchers a job started'));
  }
}
