import type { Redis } from 'ioredis';

/**
 * Lets a request wait for a job to finish without polling Postgres: workers publish the ids of
 * jobs that reached a final status on one channel (space-separated, several per message when they
 * finished together); one subscriber connection per api process fans that out to the requests
 * waiting on them.
 */
export class JobWaiter {
  private waiting = new Map<string, Set<() => void>>();

  constructor(private readonly sub: Redis, private readonly channel: string) {}

  async start() {
    this.sub.on('message', (_ch: string, jobIds: string) => {
      for (const jobId of jobIds.split(' ')) {
        const set = this.waiting.get(jobId);
        if (!set) continue;
        this.waiting.delete(jobId);
        for (const wake of set) wake();
      }
    });
    await this.sub.subscribe(this.channel);
  }

  /**
   * Resolves true when the job finishes, false after `ms`. `isDone` is checked after subscribing,
   * so a job that finished before the wait began is not missed.
   */
  async wait(jobId: string, ms: number, isDone: () => Promise<boolean>): Promise<boolean> {
    let wake!: () => void;
    const finished = new Promise<boolean>((resolve) => (wake = () => resolve(true)));
    const set = this.waiting.get(jobId) ?? new Set();
    set.add(wake);
    this.waiting.set(jobId, set);
    let timer: NodeJS.Timeout | undefined;
    try {
      if (await isDone()) return true;
      const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
      return await Promise.race([finished, timeout]);
    } finally {
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
