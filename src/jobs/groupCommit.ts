// Group commit: concurrent submissions share one database round trip and one commit.
//
// The first submission to arrive while nothing is being written is written at once, alone: at low
// load no one waits for company. While a write is in flight, later submissions gather; when it
// ends, all of them go in the next write (at most `maxItems`). Under load the groups grow by
// themselves to what one round trip can carry, and the cost per submission falls with it; no
// timer ever delays a submission. Each caller is answered only when the write holding its item
// has committed: durability is not traded for speed (contrast synchronous_commit = off).
//
// A group that fails is retried item by item, so one bad submission fails alone (its caller gets
// its own error) and the others still go in.

import type { Context } from '@opentelemetry/api';
import { captureContext, inGroupSpan } from '../tracing/spans.js';

export interface GroupCommitOptions<I, R> {
  /** Writes the items in one transaction; resolves one result per item, in order. */
  write: (items: I[]) => Promise<R[]>;
  /** Largest group (one statement's parameters stay bounded). */
  maxItems?: number;
  /** Writes in flight at once; more lets groups overlap on a pool with spare connections. */
  concurrency?: number;
  /** With tracing on, each write is a span of this name: in the first caller's trace, linked to the others'. */
  span?: string;
}

export interface GroupCommitter<I, R> {
  submit(item: I): Promise<R>;
  /** Several items that arrive together: they join the same group (one answer per item). */
  submitMany(items: I[]): Promise<R>[];
  /** Groups written so far and items in them (for tests and metrics). */
  readonly stats: { groups: number; items: number; largest: number };
}

interface Waiting<I, R> {
  item: I;
  resolve: (r: R) => void;
  reject: (e: unknown) => void;
  /** The caller's trace context (tracing on): a write runs on another caller's turn. */
  ctx: Context | undefined;
}

export function createGroupCommitter<I, R>(opts: GroupCommitOptions<I, R>): GroupCommitter<I, R> {
  const maxItems = Math.max(1, opts.maxItems ?? 256);
  const concurrency = Math.max(1, opts.concurrency ?? 1);
  const span = opts.span ?? 'group commit';
  const queue: Waiting<I, R>[] = [];
  let inFlight = 0;
  const stats = { groups: 0, items: 0, largest: 0 };

  async function writeGroup(group: Waiting<I, R>[]): Promise<void> {
    stats.groups++;
    stats.items += group.length;
    stats.largest = Math.max(stats.largest, group.length);
    try {
      const results = await inGroupSpan(span, group.map((w) => w.ctx), () => opts.write(group.map((w) => w.item)));
      if (results.length !== group.length) throw new Error(`group write returned ${results.length} results for ${group.length} items`);
      group.forEach((w, i) => w.resolve(results[i]));
    } catch (err) {
      if (group.length === 1) return group[0].reject(err);
      // Somebody's item spoiled the group: each goes again alone and meets its own fate.
      await Promise.all(
        group.map((w) =>
          inGroupSpan(span, [w.ctx], () => opts.write([w.item])).then(
            (r) => (r.length === 1 ? w.resolve(r[0]) : w.reject(new Error(`group write returned ${r.length} results for 1 item`))),
            w.reject,
          ),
        ),
      );
    }
  }

  function pump(): void {
    while (inFlight < concurrency && queue.length) {
      const group = queue.splice(0, maxItems);
      inFlight++;
      void writeGroup(group).finally(() => {
        inFlight--;
        pump();
      });
    }
  }

  return {
    stats,
    submit(item) {
      return this.submitMany([item])[0];
    },
    submitMany(items) {
      const ctx = captureContext();
      const answers = items.map((item) => new Promise<R>((resolve, reject) => queue.push({ item, resolve, reject, ctx })));
      pump();
      return answers;
    },
  };
}
