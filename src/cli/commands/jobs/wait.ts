import type { CommandSpec } from '../../command.js';
import { nonNegative, oneOf, rate } from '../../parse.js';
import { createProgress } from '../../progress.js';
import { finishJob } from '../../watch.js';

export const jobsWait: CommandSpec = {
  words: ['jobs', 'wait'],
  args: ['<id>'],
  summary: 'Watch a job to its end (a bar fed by its events), optionally download the results; the exit code tells how it ended',
  options: [
    { flags: '--max-error-rate <share>', description: 'exit 1 when more than this share of rows failed, 0..1', parse: rate },
    { flags: '--timeout <seconds>', description: 'give up waiting after this long (exit 1; the job goes on)', parse: nonNegative },
    { flags: '-o, --out <path>', description: 'write the results here when the job ends' },
    { flags: '--format <format>', description: 'results format for --out: csv or ndjson (default: from the extension)', parse: oneOf('csv', 'ndjson') },
  ],
  examples: ['sluice jobs wait "$JOB" --out results.csv', 'sluice jobs wait "$JOB" --max-error-rate 0.01 --timeout 600'],
  async run(ctx, [id], opts) {
    const client = await ctx.client();
    const job = await client.jobs.get(id);
    return finishJob(ctx, client, job, createProgress(ctx.out), {
      maxErrorRate: opts.maxErrorRate as number | undefined,
      timeoutSeconds: opts.timeout as number | undefined,
      out: opts.out as string | undefined,
      format: opts.format as 'csv' | 'ndjson' | undefined,
    });
  },
};
