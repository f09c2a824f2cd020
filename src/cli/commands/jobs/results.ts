import type { CommandSpec } from '../../command.js';
import { bytes, n } from '../../format.js';
import { oneOf } from '../../parse.js';
import { createProgress } from '../../progress.js';
import { formatFor } from '../../watch.js';

export const jobsResults: CommandSpec = {
  words: ['jobs', 'results'],
  args: ['<id>'],
  summary: "A job's results in input order, streamed to stdout or to --out (with a bar)",
  description: 'While the job runs, what is done so far. --only errors gives the failed rows with their input as uploaded, ready to fix and resubmit.',
  options: [
    { flags: '-o, --out <path>', description: 'write to this file instead of stdout' },
    { flags: '--format <format>', description: 'csv or ndjson (default: from the --out extension, else csv; ndjson with --json)', parse: oneOf('csv', 'ndjson') },
    { flags: '--only <rows>', description: 'all, errors or scored', parse: oneOf('all', 'errors', 'scored'), default: 'all' },
    { flags: '--raw', description: 'CSV: no quote prefix on cells a spreadsheet would run as formulas' },
  ],
  examples: ['sluice jobs results "$JOB" --out results.csv', 'sluice jobs results "$JOB" --only errors > fix-these.csv'],
  async run(ctx, [id], opts) {
    const client = await ctx.client();
    const out = opts.out as string | undefined;
    const format = (opts.format as 'csv' | 'ndjson' | undefined) ?? (out ? formatFor(out) : ctx.out.json ? 'ndjson' : 'csv');
    const query = { format, only: opts.only as 'all' | 'errors' | 'scored', raw: opts.raw ? ('true' as const) : undefined, signal: ctx.signal };
    if (!out) {
      try {
        await client.jobs.download(id, ctx.io.stdout, query);
      } catch (err) {
        // The reader went away (`| head`): what it wanted it has; that is no failure.
        if ((err as NodeJS.ErrnoException).code !== 'EPIPE') throw err;
      }
      return;
    }
    const job = await client.jobs.get(id);
    const progress = createProgress(ctx.out);
    const bar = progress.bar('download');
    const total = opts.only === 'all' ? job.rows.total : opts.only === 'errors' ? job.rows.failed : job.rows.succeeded;
    let written;
    try {
      written = await client.jobs.download(id, out, { ...query, onProgress: (p) => bar.update({ value: p.rows, total, bytes: p.bytes }) });
      bar.done({ value: written.rows, total, bytes: written.bytes });
    } finally {
      progress.stop();
    }
    if (ctx.out.json) return ctx.out.data({ job_id: id, path: out, format, rows: written.rows, bytes: written.bytes, job_status: job.status });
    ctx.out.line(`${n(written.rows)} rows (${bytes(written.bytes)}) written to ${out}; job ${job.status}`);
  },
};
