import type { Scope } from '../../../client/index.js';
import type { CommandSpec } from '../../command.js';
import { list } from '../../parse.js';

export const keysCreate: CommandSpec = {
  words: ['keys', 'create'],
  summary: 'Create an API key for your tenant (needs the admin scope); prints only the key, shown this once',
  options: [
    { flags: '--scopes <list>', description: 'comma-separated: jobs:write, jobs:read, models:write, models:read, webhooks:write, admin', required: true, parse: list },
    { flags: '--name <name>', description: 'a name to recognise it by' },
  ],
  examples: ['KEY=$(sluice keys create --scopes jobs:write,jobs:read,models:read --name ci)'],
  async run(ctx, _args, opts) {
    const client = await ctx.client();
    const k = await client.keys.create({ scopes: opts.scopes as Scope[], name: opts.name as string | undefined });
    if (ctx.out.json) return ctx.out.data(k);
    ctx.out.line(k.key);
    ctx.out.note(`Created key ${k.id} (${k.prefix}…, ${k.scopes.join(',')}). It is shown only now: store it.`);
  },
};
