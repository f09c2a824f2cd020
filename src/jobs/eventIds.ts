import type { JobRow, JobStatus } from '../db/jobRow.js';

// The ids of a job's live events (GET /v1/jobs/{id}/events, docs/events.md): `<rank>-<chunks_done>`,
// the status's rank (receiving 0, queued 1, running 2, completed/failed/cancelled 3) and the
// chunks done. Both only grow over a job's life, so ordering ids by rank, then chunks, orders the
// job's states as they happened, and a final state's id is later than any other. An id names a
// state, not a message: a reconnecting client's Last-Event-ID says what it has seen, and the
// server sends the current state only when it is later, so nothing seen is sent twice and the end
// is never missed.

export const STATUS_RANK: Record<JobStatus, number> = { receiving: 0, queued: 1, running: 2, completed: 3, failed: 3, cancelled: 3 };

export interface EventPos {
  rank: number;
  chunksDone: number;
}

export const posOf = (j: Pick<JobRow, 'status' | 'chunks_done'>): EventPos => ({ rank: STATUS_RANK[j.status], chunksDone: j.chunks_done });

export const eventId = (p: EventPos): string => `${p.rank}-${p.chunksDone}`;

/** A Last-Event-ID as sent back; null when absent or not one of ours (then the client is sent the current state). */
export function parseEventId(s: string | undefined): EventPos | null {
  const m = s === undefined ? null : /^([0-3])-(\d{1,10})$/.exec(s.trim());
  return m ? { rank: Number(m[1]), chunksDone: Number(m[2]) } : null;
}

/** Whether `a` is a later state of the job than `b` (anything is later than nothing). */
export function isLater(a: EventPos, b: EventPos | null): boolean {
  if (!b) return true;
  return a.rank !== b.rank ? a.rank > b.rank : a.chunksDone > b.chunksDone;
}
