import type { CommandSpec } from '../../command.js';

export const keysRevoke: CommandSpec = {
  words: ['keys', 'revoke'],
  args: ['<id>'],
  summary: 'Revoke a key (needs the admin scope): it fails from its next request on',
  examples: ['sluice keys revoke 6f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a0b'],
  async run(ctx, [id]) {
    const client = await ctx.client();
    const k = await client.keys.revoke(id);
    if (ctx.out.json) return ctx.out.data(k);
    ctx.out.line(`Revoked key ${k.id} (${k.prefix}…)`);
  },
};
