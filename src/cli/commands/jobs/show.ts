import { jobProgress } from '../../../client/index.js';
import type { CommandSpec } from '../../command.js';
import { date, n, percent, seconds } from '../../format.js';

export const jobsShow: CommandSpec = {
  words: ['jobs', 'show'],
  args: ['<id>'],
  summary: 'A job: status, rows, progress, timings, the error summary',
  examples: ['sluice jobs show 0b7d3c2e-5f4a-4c1b-9e8d-2a6f1c3b4d5e', 'sluice jobs show "$JOB" --json'],
  async run(ctx, [id]) {
    const client = await ctx.client();
    const j = await client.jobs.get(id);
    if (ctx.out.json) return ctx.out.data(j);
    const p = jobProgress(j);
    const lines = [
      ['job', j.id],
      ['status', j.status + (j.error ? ` (${j.error.code}${j.error.message ? `: ${j.error.message}` : ''})` : '')],
      ['model', `${j.model.name}:${j.model.version}`],
      ['rows', `${j.rows.total === null ? `${n(j.rows.received)} received so far` : n(j.rows.total)}; ${n(j.rows.succeeded)} scored, ${n(j.rows.failed)} failed`],
      ['progress', `${percent(p.fraction).trim()}${p.ratePerSecond ? `, ${n(p.ratePerSecond)} rows/s` : ''}${p.etaSeconds !== null ? `, ETA ${seconds(p.etaSeconds)}` : ''}`],
      ['created', date(j.created_at)],
      ['started', date(j.started_at)],
      ['finished', date(j.finished_at) + (j.duration_ms === null ? '' : ` (${seconds(j.duration_ms / 1000)})`)],
      ['expires', date(j.expires_at)],
      ['callback', j.callback_url ?? '-'],
      ['results', j.links.results],
    ];
    for (const [k, v] of lines) ctx.out.line(`${k.padEnd(9)} ${v}`);
    for (const e of j.errors ?? []) ctx.out.line(`  ${n(e.count)} × ${e.code}: ${e.message} (first rows ${e.first_rows.slice(0, 5).join(', ')})`);
  },
};
