import type { RedisClient } from '../queue/redis.js';
import { parseFinishedMessage, type FinishedJob } from './finishedMessage.js';
import { endSpan, startSpan } from '../tracing/spans.js';

/**
 * Lets a request wait for a job to finish without polling Postgres: workers publish the jobs that
 * reached a final status on one channel (several per message when they finished together, a small
 * job with its result: finishedMessage.ts); one subscriber connection per api process fans that
 * out to the requests waiting on them.
 */
export class JobWaiter {
  private waiting = new Map<string, Set<(f: FinishedJob) => void>>();

  constructor(private readonly sub: RedisClient, private readonly channel: string) {}

  async start() {
    this.sub.on('message', (ch: string, message: string) => {
      // The connection also carries live progress's channel (jobEvents.ts). Most messages name no
      // job waited on here (every api process hears every message).
      if (ch !== this.channel || this.waiting.size === 0) return;
      for (const f of parseFinishedMessage(message)) {
        const set = this.waiting.get(f.id);
        if (!set) continue;
        this.waiting.delete(f.id);
        for (const wake of set) wake(f);
      }
    });
    await this.sub.subscribe(this.channel);
  }

  /**
   * Resolves with what the worker said of the job when it finishes (its result, for a small job),
   * null after `ms`. `isDone` is checked after subscribing, so a job that finished before the wait
   * began is not missed.
   */
  async wait(jobId: string, ms: number, isDone: () => Promise<boolean>): Promise<FinishedJob | null> {
    let wake!: (f: FinishedJob) => void;
    const finished = new Promise<FinishedJob>((resolve) => (wake = resolve));
    const set = this.waiting.get(jobId) ?? new Set();
    set.add(wake);
    this.waiting.set(jobId, set);
    let timer: NodeJS.Timeout | undefined;
    // Ends when the wake-up arrives (or the wait times out): the "wake" hop of a traced prediction.
    const span = startSpan('job.wait', { 'sluice.job_id': jobId });
    let woken: FinishedJob | null = null;
    try {
      if (await isDone()) return (woken = { id: jobId });
      const timeout = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), ms)));
      return (woken = await Promise.race([finished, timeout]));
    } finally {
      span?.setAttribute('sluice.woken', woken !== null);
      endSpan(span);
      clearTimeout(timer);
      const s = this.waiting.get(jobId);
      s?.delete(wake);
      if (s && s.size === 0) this.waiting.delete(jobId);
    }
  }

  async close() {
    this.sub.disconnect();
  }
}
