import type { CommandSpec } from '../../command.js';
import { date, n, table } from '../../format.js';

export const modelsLs: CommandSpec = {
  words: ['models', 'ls'],
  summary: "Your models: latest version, number of versions, aliases",
  examples: ['sluice models ls', 'sluice models ls --json'],
  async run(ctx) {
    const client = await ctx.client();
    const models = [];
    for await (const m of client.models.list()) models.push(m);
    if (ctx.out.json) return ctx.out.data(models);
    if (!models.length) return ctx.out.note('No models yet: sluice models push model.onnx --name NAME --signature sig.json');
    const aliases = (a: Record<string, number>) => Object.entries(a).map(([k, v]) => `${k}→${v}`).join(', ') || '-';
    ctx.out.line(table(['NAME', 'LATEST', 'VERSIONS', 'ALIASES', 'CREATED'], models.map((m) => [m.name, String(m.latest_version), n(m.versions), aliases(m.aliases), date(m.created_at)])));
  },
};
