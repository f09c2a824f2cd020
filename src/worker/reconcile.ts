import type { Queue } from 'bullmq';
import type pg from 'pg';
import { pendingChunks, type PendingChunk } from '../db/pendingChunks.js';
import type { Logger } from '../log.js';
import { CHUNK_GROUP_JOB, ChunkGroup, chunkJob, chunkJobId } from '../queue/chunkJobs.js';
import { reconcileDeliveries } from '../webhooks/reconcile.js';

const PAGE = 1000;

/**
 * Postgres is the source of truth; Redis only carries references. This puts back into Redis
 * every pending chunk it lost (flush, restart without persistence, an enqueue that failed) and
 * revives chunk jobs BullMQ gave up on. Enqueuing twice is harmless: ids are deterministic and
 * the chunk's done-mark in Postgres decides whether scoring happens.
 */
export async function reconcile(opts: { pool: pg.Pool; predict: Queue; interactive: Queue; webhooks: Queue; attempts: number; log: Logger }) {
  const { pool, log } = opts;
  const queueOf = (c: PendingChunk) => (c.kind === 'online' ? opts.interactive : opts.predict);
  let chunks = 0;
  let after: PendingChunk | null = null;
  let grouped: Set<string> | null = null;
  for (;;) {
    const page = await pendingChunks(pool, after, PAGE);
    // Listed once a pass, after the first page with an online chunk, so a group enqueued before its
    // chunks were read is seen (one enqueued later may be doubled by a single chunk job: harmless,
    // the second finds the chunk done).
    if (!grouped && page.some((c) => c.kind === 'online')) grouped = await chunksInLiveGroups(opts.interactive);
    // One page's states are asked together (pipelined by ioredis), not one round trip each.
    const states = await Promise.all(page.map((c) => (grouped?.has(chunkJobId(c)) ? 'grouped' : queueOf(c).getJobState(chunkJobId(c)))));
    const lost = page.filter((_, i) => states[i] === 'unknown' || states[i] === 'failed' || states[i] === 'completed');
    // Finished in BullMQ but pending in Postgres (e.g. every attempt met a database outage): start it again.
    await Promise.all(page.map((c, i) => (states[i] === 'failed' || states[i] === 'completed' ? queueOf(c).remove(chunkJobId(c)) : null)));
    for (const q of [opts.predict, opts.interactive]) {
      const mine = lost.filter((c) => queueOf(c) === q);
      if (mine.length) await q.addBulk(mine.map((c) => chunkJob(c, opts.attempts)));
    }
    chunks += lost.length;
    if (page.length < PAGE) break;
    after = page[page.length - 1];
  }
  const deliveries = await reconcileDeliveries(pool, opts.webhooks);
  if (chunks || deliveries) log.info({ chunks, deliveries }, 'reconciler re-enqueued work Redis had lost');
  return { chunks, deliveries };
}

/** Chunks that a group job still waiting or running in the queue carries (see chunkGroupJob). */
async function chunksInLiveGroups(queue: Queue): Promise<Set<string>> {
  const jobs = await queue.getJobs(['waiting', 'prioritized', 'active', 'delayed']);
  const out = new Set<string>();
  for (const j of jobs) {
    const g = j?.name === CHUNK_GROUP_JOB ? ChunkGroup.safeParse(j.data) : null;
    if (g?.success) for (const c of g.data.chunks) out.add(chunkJobId(c));
  }
  return out;
}
