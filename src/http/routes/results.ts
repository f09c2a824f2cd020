import type { Response, Router } from 'express';
import { z } from 'zod';
import { jobGoneError } from './jobs.js';
import { selectJobChain } from '../../db/selectJobChain.js';
import { HttpError } from '../../errors.js';
import type { Signature } from '../../models/signature.js';
import type { ModelIO } from '../../models/types.js';
import { MAX_RETRY_DEPTH, mergedResultRows, resultRows } from '../../results/readResultChunks.js';
import { csvLine, formatterOf, type ResultFormatter } from '../../results/formatResults.js';
import type { PredictionRow } from '../../results/predictionRow.js';
import { ErrorRows } from '../../results/errorRows.js';
import type { AppDeps } from '../deps.js';
import { defineRoute } from '../route.js';
import { ResultPage } from '../schemas.js';

// Results are read a few stored chunks at a time (src/results/readResultChunks.ts): JSON pages by
// row number (the cursor is the last row of the page), CSV and NDJSON streamed. ?only=errors gives
// the failed rows with their inputs as uploaded (src/results/errorRows.ts), ?only=scored the others.
// CSV cells that a spreadsheet would run as formulas are neutralised unless ?raw=true (csvLine).
//
// One query reads the job (src/db/selectJobChain.ts): how its results format, how its failed rows'
// inputs read, and whether it is a retry, whose rows show their original numbers (one more query
// per few chunks then; none for other jobs). ?merged=true on a retry follows retry_of up to
// MAX_RETRY_DEPTH links and reads the chain merged: every row of the original in its order, each
// replaced by the newest retry's result for it, each row formatted by the model of the job that
// scored it. On a job that is no retry, merged=true reads its results as they are (a chain of one).
const LOOKAHEAD_ROWS = 50_000;

/** Rows in order, each from the chain's link `from[i]` (null: all from the one job read). */
interface RowsFrom {
  rows: PredictionRow[];
  from: number[] | null;
}

export function registerResultRoutes(router: Router, deps: AppDeps) {
  const { pool } = deps;
  defineRoute(
    router,
    {
      method: 'get', path: '/jobs/:id/results', scope: 'jobs:read', tags: ['jobs'], operationId: 'getJobResults',
      summary:
        'Results in input order: CSV (default, streamed), NDJSON (streamed) or JSON pages. While a job runs, what is done so far. ' +
        'only=errors: the failed rows, each with its input as uploaded (CSV: the upload\'s header after row and error, ready to fix and resubmit); only=scored: the others. ' +
        'CSV cells starting with = + - @ tab or CR (plain numbers aside) are prefixed with \' and quoted against spreadsheet formula injection; raw=true turns that off.',
      params: z.object({ id: z.string().uuid('job ids are UUIDs') }),
      query: z.object({
        format: z.enum(['csv', 'ndjson', 'json']).default('csv'),
        cursor: z.coerce.number().int().min(0).optional(),
        limit: z.coerce.number().int().min(1).max(10_000).default(1000),
        only: z.enum(['all', 'errors', 'scored']).default('all'),
        raw: z.enum(['true', 'false']).default('false'),
        merged: z
          .enum(['true', 'false'])
          .default('false')
          .describe("A retry job (POST /v1/jobs/{id}/retry): one file in the original's order, every row of the original with each retried row replaced by the retry's result (a retry of a retry: the newest result). On another job, its own results"),
      }),
      responses: {
        200: {
          description: 'results: CSV (format=csv), NDJSON, one ResultRow a line (format=ndjson), or a JSON page (format=json)',
          schema: ResultPage,
          content: {
            'text/csv': { schema: { type: 'string' }, example: 'row,prediction,p_Adelie,p_Chinstrap,p_Gentoo,error\n1,Adelie,0.97,0.02,0.01,\n' },
            'application/x-ndjson': { schema: { type: 'string' }, example: '{"row":1,"prediction":"Adelie","error":null}\n' },
          },
          headers: { 'X-Job-Status': { description: "The job's status when the results were read", schema: { type: 'string' } } },
        },
        404: { description: 'job_not_found: no such job' },
        409: { description: "results_not_mergeable: merged=true as CSV, where the jobs' models give different columns (other labels or passthrough columns); NDJSON and JSON merge any" },
        410: { description: 'job_expired: retention deleted the job and its results' },
      },
    },
    async (req, res, { params, query, auth }) => {
      const merged = query.merged === 'true';
      const chain = await selectJobChain<Signature, ModelIO>(pool, params.id, auth.tenantId, merged ? MAX_RETRY_DEPTH : 0);
      if (!chain.length) throw await jobGoneError(pool, params.id, auth.tenantId, deps.config.worker.retentionTtlHours);
      const job = chain[0];
      const links = [...chain].reverse(); // oldest first: the original, then each retry of the one before
      const fmts = links.map(formatterOf);
      const fmtOf = (from: number[] | null, i: number) => fmts[from?.[i] ?? 0];
      res.setHeader('X-Job-Status', job.status);
      const read = { only: query.only, records: query.only === 'errors' };
      const csvOpts = { raw: query.raw === 'true' };
      // A retry keeps its original's columns, delimiter and records: the failed rows of every link read alike.
      const errors = query.only === 'errors' ? new ErrorRows(job, csvOpts.raw) : null;
      const json = (r: PredictionRow, fmt: ResultFormatter) => (errors ? { ...fmt.json(r), input: errors.input(r) } : fmt.json(r));
      const rowsAfter = (after: number, limit: number): AsyncGenerator<RowsFrom> =>
        links.length > 1
          ? mergedResultRows(pool, links.map((l) => ({ jobId: l.id, renumbered: l.renumbered })), after, limit, read)
          : fromOne(resultRows(pool, job.id, after, limit, { ...read, renumbered: job.renumbered }));

      if (query.format === 'json') {
        const rows: PredictionRow[] = [];
        const from: number[] = [];
        for await (const some of rowsAfter(query.cursor ?? 0, query.limit + 1)) {
          some.rows.forEach((r, i) => (rows.push(r), from.push(some.from?.[i] ?? 0)));
        }
        const data = rows.slice(0, query.limit);
        const more = rows.length > query.limit;
        res.json({ job_status: job.status, data: data.map((r, i) => json(r, fmts[from[i]])), next_cursor: more ? data.at(-1)!.row_no : null });
        return;
      }

      let abort = false;
      res.once('close', () => (abort = true));
      const chunks = rowsAfter(0, Infinity);
      try {
        // Without labels, the CSV header names a column per class: read on to the first row with
        // scores to count them (the rows before it, all errors, wait in hand; at most LOOKAHEAD_ROWS).
        const fmt = fmts.at(-1)!;
        const held: RowsFrom[] = [];
        let classCount: number | null = null;
        let heldRows = 0;
        let more = true;
        while (query.format === 'csv' && !errors && fmts.some((f) => f.needsClassCount) && classCount === null && heldRows < LOOKAHEAD_ROWS && !abort) {
          const n = await chunks.next();
          if (n.done) {
            more = false;
            break;
          }
          held.push(n.value);
          heldRows += n.value.rows.length;
          classCount = n.value.rows.find((r) => r.scores)?.scores?.length ?? null;
        }
        if (query.format === 'csv') {
          const header = errors ? errors.csvHeader() : csvLine(fmt.csvHeader(classCount), csvOpts);
          // One file has one header: the links' models must give the same columns (CSV of failed rows has the upload's).
          const other = errors ? undefined : fmts.find((f) => csvLine(f.csvHeader(classCount), csvOpts) !== header);
          if (other) {
            throw new HttpError(
              'results_not_mergeable',
              `The jobs of this retry chain were scored by models whose results have different columns (${fmt.csvHeader(classCount).join(', ')} against ${other.csvHeader(classCount).join(', ')}), which one CSV cannot hold: read them merged with format=ndjson or format=json, or each job's results on their own.`,
            );
          }
          const name = `${params.id}${merged ? '.merged' : ''}${query.only === 'all' ? '' : `.${query.only}`}`;
          res.type('text/csv; charset=utf-8').setHeader('Content-Disposition', `attachment; filename="${name}.csv"`);
          await write(res, header);
        } else res.type('application/x-ndjson');
        const format = ({ rows, from }: RowsFrom) => {
          let text = '';
          if (query.format !== 'csv') for (let i = 0; i < rows.length; i++) text += JSON.stringify(json(rows[i], fmtOf(from, i))) + '\n';
          else if (errors) for (const r of rows) text += errors.csvRow(r);
          else for (let i = 0; i < rows.length; i++) text += csvLine(fmtOf(from, i).csvRow(rows[i], classCount), csvOpts);
          return text;
        };
        for (const rows of held) if (!abort) await write(res, format(rows));
        if (more) for (let n = abort ? null : await chunks.next(); n && !n.done && !abort; n = await chunks.next()) await write(res, format(n.value));
      } finally {
        await chunks.return(undefined);
      }
      res.end();
    },
  );
}

/** How a job's results read: its pinned version's signature and plan (and a compare job's second version). */
async function* fromOne(rows: AsyncGenerator<PredictionRow[]>): AsyncGenerator<RowsFrom> {
  try {
    for await (const some of rows) yield { rows: some, from: null };
  } finally {
    await rows.return(undefined);
  }
}

function write(res: Response, text: string): Promise<void> {
  // A client gone before the listener below was in place would leave it waiting for ever.
  if (res.destroyed || res.writableEnded) return Promise.resolve();
  if (res.write(text)) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => { res.off('drain', done); res.off('close', done); resolve(); };
    res.once('drain', done);
    res.once('close', done);
  });
}
