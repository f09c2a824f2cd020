import type { CommandSpec } from '../../command.js';
import { n } from '../../format.js';

export const jobsCancel: CommandSpec = {
  words: ['jobs', 'cancel'],
  args: ['<id>'],
  summary: 'Cancel a job: chunks not yet scored are dropped; results so far stay readable',
  examples: ['sluice jobs cancel "$JOB"'],
  async run(ctx, [id]) {
    const client = await ctx.client();
    const j = await client.jobs.cancel(id);
    if (ctx.out.json) return ctx.out.data(j);
    ctx.out.line(`Job ${j.id} cancelled: ${n(j.rows.succeeded + j.rows.failed)} of ${j.rows.total === null ? `${n(j.rows.received)}+` : n(j.rows.total)} rows were done`);
  },
};
