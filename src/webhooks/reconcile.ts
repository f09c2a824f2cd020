import type { Queue } from 'bullmq';
import type pg from 'pg';
import { pendingDeliveries } from '../db/pendingDeliveries.js';
import { deliveryJob, deliveryJobId } from '../queue/deliveryJobs.js';

// Postgres owes every pending delivery; Redis may have lost its reference (a flush, a failover,
// a crash between commit and enqueue). Re-add what is missing, delayed to its next-attempt time.
// The job id names the attempt the delivery expects, so a reference still in Redis is left alone
// and one that raced us in is not added twice.

const PAGE = 500;

/** Returns how many deliveries were re-enqueued. */
export async function reconcileDeliveries(pool: pg.Pool, queue: Queue): Promise<number> {
  let added = 0;
  let after: { at: string; id: string } | null = null;
  for (;;) {
    const page = await pendingDeliveries(pool, after, PAGE);
    if (page.length === 0) break;
    const ids = page.map((d) => deliveryJobId({ deliveryId: d.id, attempt: d.attempt_count }));
    const states = await Promise.all(ids.map((id) => queue.getJobState(id)));
    // A finished BullMQ job under the id of an attempt still owed (kept by other queue settings,
    // or ended by our own outage) would block the re-add: remove it first.
    await Promise.all(ids.map((id, i) => (states[i] === 'completed' || states[i] === 'failed' ? queue.remove(id) : null)));
    const missing = page.filter((_, i) => states[i] === 'unknown' || states[i] === 'completed' || states[i] === 'failed');
    if (missing.length) {
      const now = Date.now();
      await queue.addBulk(missing.map((d) => deliveryJob({ deliveryId: d.id, attempt: d.attempt_count }, d.next_attempt_at.getTime() - now)));
      added += missing.length;
    }
    if (page.length < PAGE) break;
    const last = page[page.length - 1];
    after = { at: last.cursor, id: last.id };
  }
  return added;
}
