// Where a lone single prediction's time goes, hop by hop, read from the clocks the path already
// keeps: the client's send and receive times, and the job row's timestamps (Postgres's now(), the
// same machine's clock): created_at (the group commit's INSERT began), started_at (a worker took
// the chunk: its load, or the worker's own time when the records rode in the queue) and
// finished_at (the finishing commit began). No instrumentation in the path, so the same table can
// be taken of any version of the code. Sequential requests, one at a time; each hop's median.
import type pg from 'pg';
import { COLUMNS, median, request, rng } from './common.js';

export interface HopTable {
  requests: number;
  /** Median milliseconds of each hop, in order; `total` is the client's own p50. */
  hops: { name: string; ms: number }[];
  total: number;
}

export const HOP_NAMES = [
  'request → job stored (HTTP, auth, the group commit INSERT begins)',
  'stored → a worker takes it (INSERT commit, BullMQ add, worker pickup)',
  'taken → finishing commit begins (chunk load if any, inference thread, batcher)',
  'commit begins → answer received (finishing commit, publish, wake-up, response)',
];

const wall = () => performance.timeOrigin + performance.now();

export async function hopTable(base: string, headers: Record<string, string>, pool: pg.Pool, n = 200): Promise<HopTable> {
  const r = rng(7);
  const sent: { id: string; t0: number; t1: number }[] = [];
  for (let i = 0; i < n; i++) {
    const body = JSON.stringify({ model: 'bench', wait: 10, inputs: [Object.fromEntries(COLUMNS.map((c) => [c, Number(((r() - 0.5) * 8).toFixed(4))]))] });
    const t0 = wall();
    const res = await request(`${base}/v1/predictions`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body });
    const t1 = wall();
    if (res.status !== 200) continue;
    sent.push({ id: (JSON.parse(res.body) as { id: string }).id, t0, t1 });
  }
  const { rows } = await pool.query<{ id: string; c: number; s: number | null; f: number | null }>(
    `SELECT id::text, extract(epoch FROM created_at)::float8 * 1000 AS c, extract(epoch FROM started_at)::float8 * 1000 AS s,
            extract(epoch FROM finished_at)::float8 * 1000 AS f FROM jobs WHERE id = ANY($1::uuid[])`,
    [sent.map((x) => x.id)],
  );
  const at = new Map(rows.map((x) => [x.id, x]));
  const cols: number[][] = [[], [], [], []];
  for (const x of sent) {
    const j = at.get(x.id);
    if (!j || j.s === null || j.f === null) continue;
    [j.c - x.t0, j.s - j.c, j.f - j.s, x.t1 - j.f].forEach((v, i) => cols[i].push(v));
  }
  return { requests: cols[0].length, hops: HOP_NAMES.map((name, i) => ({ name, ms: median(cols[i]) })), total: median(sent.map((x) => x.t1 - x.t0)) };
}
