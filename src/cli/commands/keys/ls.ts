import type { CommandSpec } from '../../command.js';
import { date, table } from '../../format.js';

export const keysLs: CommandSpec = {
  words: ['keys', 'ls'],
  summary: "Your tenant's keys (needs the admin scope): prefix, scopes, last use, revocation",
  examples: ['sluice keys ls', 'sluice keys ls --json'],
  async run(ctx) {
    const client = await ctx.client();
    const keys = [];
    for await (const k of client.keys.list()) keys.push(k);
    if (ctx.out.json) return ctx.out.data(keys);
    ctx.out.line(
      table(
        ['ID', 'PREFIX', 'NAME', 'SCOPES', 'CREATED', 'LAST USED', 'REVOKED'],
        keys.map((k) => [k.id, k.prefix, k.name ?? '-', k.scopes.join(','), date(k.created_at), date(k.last_used_at), date(k.revoked_at)]),
      ),
    );
  },
};
