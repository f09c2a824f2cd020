import type { CommandSpec } from '../../command.js';
import { bytes, date, table } from '../../format.js';

export const modelsShow: CommandSpec = {
  words: ['models', 'show'],
  args: ['<name>'],
  summary: "A model's versions and aliases",
  examples: ['sluice models show penguins', 'sluice models show penguins --json'],
  async run(ctx, [name]) {
    const client = await ctx.client();
    const m = await client.models.get(name);
    if (ctx.out.json) return ctx.out.data(m);
    const aliases = Object.entries(m.aliases).map(([a, v]) => `${a} → ${v}`).join(', ') || 'none';
    ctx.out.line(`${m.name}: latest version ${m.latest_version}; aliases: ${aliases}`);
    const latest = m.versions.at(-1);
    if (latest?.signature.columns) ctx.out.line(`columns (v${latest.version}): ${latest.signature.columns.join(', ')}`);
    ctx.out.line(
      table(
        ['VERSION', 'CREATED', 'SIZE', 'SHA256', 'TASK', 'ALIASES', 'DESCRIPTION'],
        m.versions.map((v) => [String(v.version), date(v.created_at), bytes(v.size_bytes), v.sha256.slice(0, 12), String(v.signature.task ?? '-'), v.aliases.join(', ') || '-', v.description ?? '']),
      ),
    );
  },
};
