import type pg from 'pg';
import { selectResultChunks } from '../db/selectResultChunks.js';
import { selectRowNumberMapAt } from '../db/selectRowNumberMapAt.js';
import { selectRowNumberMaps, type RowNumberMap } from '../db/selectRowNumberMaps.js';
import type { PredictionRow } from './predictionRow.js';
import { decodeResultRows, type RowFilter, type StoredChunk } from './resultRows.js';

// A job's results in row order, read a few chunks per query by keyset on the primary key
// (job_id, first_row): no transaction or cursor is held open while a slow client downloads
// millions of rows, and memory holds a few chunks. Rows of chunks not finished yet are not there:
// while a job runs, the read gives what is done so far.
//
// A retry job (POST /v1/jobs/{id}/retry) holds only the failed rows of another job, numbered 1..n
// as every job's rows are; each of them shows the number it had in the original, from
// retry_row_numbers (migrations/0016), read with each batch of chunks: one more query per
// CHUNKS_PER_QUERY chunks for a retry job, none for any other (the caller tells which it is from
// the job row, src/db/selectJobChain.ts). The numbers ascend as the rows do, so a page cursor in
// original numbers translates back to a position in the retry.
const CHUNKS_PER_QUERY = 4;

/** How many links of retries a merged read follows (a retry of a retry of …): a longer chain reads from its last MAX_RETRY_DEPTH links. */
export const MAX_RETRY_DEPTH = 20;

export interface ReadOptions {
  /** Keep failed or scored rows only (`limit` counts those kept). */
  only?: RowFilter;
  /** Also read failed rows' raw records. */
  records?: boolean;
  /** A retry job: rows show their original row numbers, and `after` is one of those. */
  renumbered?: boolean;
}

/**
 * The job's results after row `after`, a chunk's worth at a time; at most `limit` rows are decoded.
 * The first query reads one chunk (a page often lies within it), the next ones a few at a time.
 */
export async function* resultRows(pool: pg.Pool, jobId: string, after = 0, limit = Infinity, read: ReadOptions = {}): AsyncGenerator<PredictionRow[]> {
  const decode = { only: read.only, records: read.records };
  const from = read.renumbered && after > 0 ? await positionAfter(pool, jobId, after) : after;
  let left = limit;
  let chunks = await selectResultChunks(pool, jobId, { holdingRow: from + 1 });
  let asked = 1;
  while (chunks.length) {
    const maps = read.renumbered ? await mapsFor(pool, jobId, chunks, from) : null;
    for (const chunk of chunks) {
      const rows = decodeResultRows(chunk, { after: from, limit: left, ...decode });
      if (maps) renumber(rows, maps);
      left -= rows.length;
      if (rows.length) yield rows;
      if (left <= 0) return;
    }
    if (chunks.length < asked) return; // that was the last of them
    chunks = await selectResultChunks(pool, jobId, { afterFirstRow: chunks.at(-1)!.first_row, limit: (asked = CHUNKS_PER_QUERY) });
  }
}

/** The retry's own position of its last row numbered `sourceRow` or less in the original (0: none). */
async function positionAfter(pool: pg.Pool, jobId: string, sourceRow: number): Promise<number> {
  const map = await selectRowNumberMapAt(pool, jobId, sourceRow);
  if (!map) return 0;
  return map.first_row + upperBound(map.source_rows, sourceRow) - 1;
}

/** How many of the ascending `xs` are at most `x`. */
function upperBound(xs: readonly number[], x: number): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (xs[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function mapsFor(pool: pg.Pool, jobId: string, chunks: StoredChunk[], after: number): Promise<RowNumberMap[]> {
  const last = chunks.at(-1)!;
  const first = Math.max(Number(chunks[0].first_row), after + 1);
  return selectRowNumberMaps(pool, jobId, first, Number(last.first_row) + Number(last.row_count) - 1);
}

/** Gives each row (ascending) its original number. A row without one would be a broken invariant: the chunk and its numbers are stored by one statement. */
function renumber(rows: PredictionRow[], maps: RowNumberMap[]): void {
  let m = 0;
  for (const r of rows) {
    while (m < maps.length && r.row_no >= maps[m].first_row + maps[m].source_rows.length) m++;
    const map = maps[m];
    if (!map || r.row_no < map.first_row) throw new Error(`retry row ${r.row_no} has no original row number`);
    r.row_no = map.source_rows[r.row_no - map.first_row];
  }
}

/** A job of a retry chain as a merged read takes it. */
export interface ChainLink {
  jobId: string;
  renumbered: boolean;
}

/** Merged rows, each with the link of the chain its result comes from (0: the oldest job). */
export interface MergedRows {
  rows: PredictionRow[];
  from: number[];
}

/**
 * GET /v1/jobs/{id}/results?merged=true: the results of a chain of retries as ONE file in the
 * original's order. `chain` is oldest first: the original, then each retry of the one before.
 * Every row of the original, each replaced by the newest retry's result for it (a row a retry
 * left out, or that no retry took, keeps the older result). All are read in step, merged by row
 * number (every link numbers its rows as the original did), a few chunks of each at a time.
 * `only` keeps failed or scored rows of the merged result; `limit` counts those kept.
 */
export async function* mergedResultRows(pool: pg.Pool, chain: ChainLink[], after = 0, limit = Infinity, read: ReadOptions = {}): AsyncGenerator<MergedRows> {
  const each = { records: read.records };
  const [base, ...retries] = chain;
  const cursors = retries.map((l) => new RowCursor(resultRows(pool, l.jobId, after, Infinity, { ...each, renumbered: l.renumbered })));
  const keep = (r: PredictionRow) => read.only === undefined || read.only === 'all' || (read.only === 'errors') === (r.error !== null);
  let left = limit;
  try {
    for await (const batch of resultRows(pool, base.jobId, after, Infinity, { ...each, renumbered: base.renumbered })) {
      const out: MergedRows = { rows: [], from: [] };
      for (const r of batch) {
        let pick = r;
        let from = 0;
        // Newest first: the first retry holding the row gives its result; the older ones step past it too.
        for (let k = cursors.length - 1; k >= 0; k--) {
          const held = await cursors[k].take(r.row_no);
          if (held && from === 0) [pick, from] = [held, k + 1];
        }
        if (!keep(pick)) continue;
        out.rows.push(pick);
        out.from.push(from);
        if (--left <= 0) break;
      }
      if (out.rows.length) yield out;
      if (left <= 0) return;
    }
  } finally {
    await Promise.all(cursors.map((c) => c.close()));
  }
}

/** A retry's rows one at a time, ascending, read a few chunks at a time. */
class RowCursor {
  private rows: PredictionRow[] = [];
  private at = 0;
  private done = false;

  constructor(private readonly source: AsyncGenerator<PredictionRow[]>) {}

  /** Its row numbered `rowNo`, if it has one; the rows before it (none the original has) are passed over. */
  async take(rowNo: number): Promise<PredictionRow | null> {
    for (;;) {
      if (this.at >= this.rows.length) {
        if (this.done) return null;
        const n = await this.source.next();
        if (n.done) {
          this.done = true;
          return null;
        }
        [this.rows, this.at] = [n.value, 0];
        continue;
      }
      const head = this.rows[this.at];
      if (head.row_no > rowNo) return null;
      this.at++;
      if (head.row_no === rowNo) return head;
    }
  }

  async close(): Promise<void> {
    await this.source.return(undefined);
  }
}
