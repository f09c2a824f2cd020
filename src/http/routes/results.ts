import type { Response, Router } from 'express';
import { z } from 'zod';
import { jobGoneError } from './jobs.js';
import { csvLine, formatterForJob, type PredictionRow } from '../../jobs/results.js';
import type { AppDeps } from '../deps.js';
import { defineRoute } from '../route.js';

// Results are read by keyset pages on the primary key (job_id, row_no): no transaction or cursor
// is held open while a slow client downloads millions of rows, and memory holds one page.
const PAGE = 5000;
const SELECT = `SELECT row_no, value, scores, passthrough, error FROM predictions WHERE job_id = $1 AND row_no > $2 ORDER BY row_no LIMIT $3`;

export function registerResultRoutes(router: Router, deps: AppDeps) {
  const { pool } = deps;
  defineRoute(
    router,
    {
      method: 'get', path: '/jobs/:id/results', scope: 'jobs:read', tags: ['jobs'],
      summary: 'Results in input order: CSV (default, streamed), NDJSON (streamed) or JSON pages. While a job runs, what is done so far.',
      params: z.object({ id: z.string().uuid('job ids are UUIDs') }),
      query: z.object({
        format: z.enum(['csv', 'ndjson', 'json']).default('csv'),
        cursor: z.coerce.number().int().min(0).optional(),
        limit: z.coerce.number().int().min(1).max(10_000).default(1000),
      }),
      responses: { 200: { description: 'results', contentType: 'text/csv' }, 404: { description: 'no such job' } },
    },
    async (req, res, { params, query, auth }) => {
      const job = await formatterForJob(pool, params.id, auth.tenantId);
      if (!job) throw await jobGoneError(pool, params.id, auth.tenantId, deps.config.worker.retentionTtlHours);
      const { fmt } = job;
      res.setHeader('X-Job-Status', job.status);

      if (query.format === 'json') {
        const page = await pool.query<PredictionRow>(SELECT, [params.id, query.cursor ?? 0, query.limit + 1]);
        const data = page.rows.slice(0, query.limit);
        const more = page.rows.length > query.limit;
        res.json({ job_status: job.status, data: data.map((r) => fmt.json(r)), next_cursor: more ? data.at(-1)!.row_no : null });
        return;
      }

      let after = 0;
      let first = await pool.query<PredictionRow>(SELECT, [params.id, after, PAGE]);
      const classCount = first.rows.find((r) => r.scores)?.scores?.length ?? null;
      if (query.format === 'csv') {
        res.type('text/csv; charset=utf-8').setHeader('Content-Disposition', `attachment; filename="${params.id}.csv"`);
        await write(res, csvLine(fmt.csvHeader(classCount)));
      } else res.type('application/x-ndjson');
      let abort = false;
      req.on('close', () => (abort = true));
      while (first.rows.length && !abort) {
        let text = '';
        for (const r of first.rows) text += query.format === 'csv' ? csvLine(fmt.csvRow(r, classCount)) : JSON.stringify(fmt.json(r)) + '\n';
        await write(res, text);
        if (first.rows.length < PAGE) break;
        after = first.rows.at(-1)!.row_no;
        first = await pool.query<PredictionRow>(SELECT, [params.id, after, PAGE]);
      }
      res.end();
    },
  );
}

function write(res: Response, text: string): Promise<void> {
  if (res.write(text)) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => { res.off('drain', done); res.off('close', done); resolve(); };
    res.once('drain', done);
    res.once('close', done);
  });
}
