import type { CommandSpec } from '../../command.js';
import { UsageError } from '../../exitCodes.js';

export const aliasSet: CommandSpec = {
  words: ['alias', 'set'],
  args: ['<model>', '<alias>', '<version>'],
  summary: 'Point an alias (e.g. production) at a version; jobs submitted with model@alias use it from now on',
  examples: ['sluice alias set penguins production 2'],
  async run(ctx, [name, alias, versionText]) {
    const version = Number(versionText);
    if (!Number.isInteger(version) || version < 1) throw new UsageError(`The version must be a whole number of at least 1, not "${versionText}".`);
    const client = await ctx.client();
    const a = await client.models.setAlias(name, alias, version);
    if (ctx.out.json) return ctx.out.data(a);
    ctx.out.line(`${a.name}@${a.alias} → version ${a.version}`);
  },
};
