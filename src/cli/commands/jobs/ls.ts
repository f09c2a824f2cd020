import type { CommandSpec } from '../../command.js';
import { date, n, table } from '../../format.js';
import { oneOf, positiveInt } from '../../parse.js';

export const jobsLs: CommandSpec = {
  words: ['jobs', 'ls'],
  summary: 'Your jobs, newest first',
  options: [
    { flags: '--status <status>', description: 'only jobs in this status', parse: oneOf('receiving', 'queued', 'running', 'completed', 'failed', 'cancelled') },
    { flags: '--model <model>', description: 'only jobs of this model (name, or name:version)' },
    { flags: '--limit <n>', description: 'at most this many', parse: positiveInt, default: '20' },
  ],
  examples: ['sluice jobs ls', 'sluice jobs ls --status failed --model penguins --limit 5 --json'],
  async run(ctx, _args, opts) {
    const client = await ctx.client();
    const limit = Number(opts.limit);
    const jobs = [];
    for await (const j of client.jobs.list({ status: opts.status as never, model: opts.model as string | undefined, limit: Math.min(limit, 200), max: limit })) jobs.push(j);
    if (ctx.out.json) return ctx.out.data(jobs);
    if (!jobs.length) return ctx.out.note('No jobs.');
    ctx.out.line(
      table(
        ['ID', 'STATUS', 'MODEL', 'ROWS', 'FAILED', 'CREATED'],
        jobs.map((j) => [j.id, j.status, `${j.model.name}:${j.model.version}`, j.rows.total === null ? `${n(j.rows.received)}+` : n(j.rows.total), n(j.rows.failed), date(j.created_at)]),
      ),
    );
  },
};
