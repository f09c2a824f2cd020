import type { Response, Router } from 'express';
import { z } from 'zod';
import { jobGoneError } from './jobs.js';
import { resultRows } from '../../results/readResultChunks.js';
import { csvLine, formatterForJob } from '../../results/formatResults.js';
import type { PredictionRow } from '../../results/predictionRow.js';
import { ErrorRows } from '../../results/errorRows.js';
import { selectJobUpload } from '../../db/selectJobUpload.js';
import type { AppDeps } from '../deps.js';
import { defineRoute } from '../route.js';
import { ResultPage } from '../schemas.js';

// Results are read a few stored chunks at a time (src/results/readResultChunks.ts): JSON pages by
// row number (the cursor is the last row of the page), CSV and NDJSON streamed. ?only=errors gives
// the failed rows with their inputs as uploaded (src/results/errorRows.ts), ?only=scored the others.
// CSV cells that a spreadsheet would run as formulas are neutralised unless ?raw=true (csvLine).
const LOOKAHEAD_ROWS = 50_000;

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
        410: { description: 'job_expired: retention deleted the job and its results' },
      },
    },
    async (req, res, { params, query, auth }) => {
      const job = await formatterForJob(pool, params.id, auth.tenantId);
      if (!job) throw await jobGoneError(pool, params.id, auth.tenantId, deps.config.worker.retentionTtlHours);
      const { fmt } = job;
      res.setHeader('X-Job-Status', job.status);
      const read = { only: query.only, records: query.only === 'errors' };
      const csvOpts = { raw: query.raw === 'true' };
      const upload = query.only === 'errors' ? await selectJobUpload(pool, params.id) : null;
      if (query.only === 'errors' && !upload) throw await jobGoneError(pool, params.id, auth.tenantId, deps.config.worker.retentionTtlHours);
      const errors = upload ? new ErrorRows(upload, csvOpts.raw) : null;
      const json = errors ? (r: PredictionRow) => ({ ...fmt.json(r), input: errors.input(r) }) : (r: PredictionRow) => fmt.json(r);

      if (query.format === 'json') {
        const rows: PredictionRow[] = [];
        for await (const some of resultRows(pool, params.id, query.cursor ?? 0, query.limit + 1, read)) rows.push(...some);
        const data = rows.slice(0, query.limit);
        const more = rows.length > query.limit;
        res.json({ job_status: job.status, data: data.map(json), next_cursor: more ? data.at(-1)!.row_no : null });
        return;
      }

      let abort = false;
      res.once('close', () => (abort = true));
      // Without labels, the CSV header names a column per class: read on to the first row with
      // scores to count them (the rows before it, all errors, wait in hand; at most LOOKAHEAD_ROWS).
      const chunks = resultRows(pool, params.id, 0, Infinity, read);
      const held: PredictionRow[][] = [];
      let classCount: number | null = null;
      let heldRows = 0;
      let more = true;
      while (query.format === 'csv' && !errors && fmt.needsClassCount && classCount === null && heldRows < LOOKAHEAD_ROWS && !abort) {
        const n = await chunks.next();
        if (n.done) {
          more = false;
          break;
        }
        held.push(n.value);
        heldRows += n.value.length;
        classCount = n.value.find((r) => r.scores)?.scores?.length ?? null;
      }
      if (query.format === 'csv') {
        res.type('text/csv; charset=utf-8').setHeader('Content-Disposition', `attachment; filename="${params.id}${query.only === 'all' ? '' : `.${query.only}`}.csv"`);
        await write(res, errors ? errors.csvHeader() : csvLine(fmt.csvHeader(classCount), csvOpts));
      } else res.type('application/x-ndjson');
      const format = (rows: PredictionRow[]) => {
        let text = '';
        if (query.format !== 'csv') for (const r of rows) text += JSON.stringify(json(r)) + '\n';
        else if (errors) for (const r of rows) text += errors.csvRow(r);
        else for (const r of rows) text += csvLine(fmt.csvRow(r, classCount), csvOpts);
        return text;
      };
      for (const rows of held) if (!abort) await write(res, format(rows));
      if (more) for (let n = abort ? null : await chunks.next(); n && !n.done && !abort; n = await chunks.next()) await write(res, format(n.value));
      await chunks.return(undefined);
      res.end();
    },
  );
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
