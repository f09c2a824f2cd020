import { readFile } from 'node:fs/promises';
import type { CommandSpec } from '../../command.js';
import { UsageError } from '../../exitCodes.js';
import { bytes } from '../../format.js';

export const modelsPush: CommandSpec = {
  words: ['models', 'push'],
  args: ['<model.onnx>'],
  summary: 'Register a new version of a model: the ONNX file and its signature',
  options: [
    { flags: '-n, --name <name>', description: 'the model name (letters, digits, _ - .)', required: true },
    { flags: '-s, --signature <file>', description: 'the signature JSON: how CSV columns become the input tensor (docs/signatures.md)', required: true },
    { flags: '-a, --alias <alias>', description: 'then point this alias (e.g. production) at the new version' },
    { flags: '--metrics <file>', description: 'a JSON object of metrics to keep with the version' },
    { flags: '--description <text>', description: 'a note kept with the version' },
  ],
  examples: ['sluice models push penguins.onnx --name penguins --signature penguins.signature.json --alias production'],
  async run(ctx, [file], opts) {
    const model = await readFile(file).catch(() => {
      throw new UsageError(`Cannot read ${file}.`);
    });
    const signature = await readJson(opts.signature as string, '--signature');
    const metrics = opts.metrics ? ((await readJson(opts.metrics as string, '--metrics')) as Record<string, unknown>) : undefined;
    const client = await ctx.client();
    const name = opts.name as string;
    let version = await client.models.push(name, { model, signature, metrics, description: opts.description as string | undefined });
    const alias = opts.alias as string | undefined;
    if (alias) {
      await client.models.setAlias(name, alias, version.version);
      version = { ...version, aliases: [...new Set([...version.aliases, alias])] };
    }
    if (ctx.out.json) return ctx.out.data(version);
    ctx.out.line(`Registered ${name} version ${version.version} (${bytes(version.size_bytes)}, sha256 ${version.sha256.slice(0, 12)})`);
    for (const r of version.rewrites) ctx.out.line(`  rewrite: ${r}`);
    if (alias) ctx.out.line(`${name}@${alias} → version ${version.version}`);
  },
};

async function readJson(path: string, flag: string): Promise<unknown> {
  const text = await readFile(path, 'utf8').catch(() => {
    throw new UsageError(`Cannot read ${path} (${flag}).`);
  });
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${path} (${flag}) is not valid JSON: ${(err as Error).message}`);
  }
}
