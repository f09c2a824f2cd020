import { readFile } from 'node:fs/promises';
import type { CommandSpec } from '../command.js';
import { EXIT, UsageError } from '../exitCodes.js';
import { nonNegative } from '../parse.js';

export const predict: CommandSpec = {
  words: ['predict'],
  args: ['[record]'],
  summary: 'Score a few records now: one JSON object (or an array) as the argument, or --input with JSON Lines',
  description: 'Prints one JSON line per record: row, passthrough, prediction, probabilities, error. With --json, the whole answer.',
  options: [
    { flags: '-m, --model <model>', description: 'name, name:version or name@alias', required: true },
    { flags: '-i, --input <file>', description: 'records as JSON Lines (one object a line) or a JSON array; - for stdin' },
    { flags: '--wait <seconds>', description: 'how long the server holds the answer for the result (then the CLI waits on)', parse: nonNegative, default: '10' },
  ],
  examples: [
    `sluice predict --model penguins '{"Beak Length (mm)": 39.1, "Beak Depth (mm)": 18.7, "Flipper Length (mm)": 181, "Body Mass (g)": 3750}'`,
    'sluice predict --model penguins@production --input records.jsonl',
  ],
  async run(ctx, [record], opts) {
    const inputs = await readRecords(record, opts.input as string | undefined, ctx.io.stdin);
    const client = await ctx.client();
    const wait = Math.min(Number(opts.wait), 30);
    const answer = await client.predictions.create({ model: opts.model as string, inputs, wait });
    let job = answer.done ? answer.prediction : answer.job;
    let rows = answer.done ? answer.prediction.predictions : null;
    if (!rows) {
      job = await client.jobs.wait(job.id, { signal: ctx.signal });
      rows = [];
      for await (const r of client.jobs.rows(job.id)) rows.push(r);
    }
    if (ctx.out.json) ctx.out.data({ ...job, predictions: rows });
    else for (const r of rows) ctx.out.line(JSON.stringify(r));
    if (job.status !== 'completed') {
      ctx.out.error(`job ${job.id} ${job.status}${job.error ? `: ${job.error.code}${job.error.message ? ` (${job.error.message})` : ''}` : ''}`);
      return EXIT.failed;
    }
    return EXIT.ok;
  },
};

type Cell = string | number | null;

async function readRecords(arg: string | undefined, input: string | undefined, stdin: NodeJS.ReadableStream): Promise<Record<string, Cell>[]> {
  if (arg !== undefined && input !== undefined) throw new UsageError('Give the records either as the argument or with --input, not both.');
  let text: string;
  let from: string;
  if (arg !== undefined) (text = arg), (from = 'the argument');
  else if (input === '-') {
    text = '';
    for await (const chunk of stdin) text += chunk.toString();
    from = 'stdin';
  } else if (input !== undefined) {
    text = await readFile(input, 'utf8').catch(() => {
      throw new UsageError(`Cannot read ${input}.`);
    });
    from = input;
  } else throw new UsageError('Give a record: sluice predict --model m \'{"a": 1}\', or --input records.jsonl.');
  const trimmed = text.trim();
  const parse = (s: string, where: string) => {
    try {
      return JSON.parse(s) as unknown;
    } catch (err) {
      throw new UsageError(`${where} is not valid JSON: ${(err as Error).message}`);
    }
  };
  const values = trimmed.startsWith('[') || arg !== undefined
    ? [parse(trimmed, from)].flat()
    : trimmed.split('\n').filter((l) => l.trim()).map((l, i) => parse(l, `${from} line ${i + 1}`));
  if (!values.length) throw new UsageError(`${from} holds no records.`);
  for (const v of values) if (!v || typeof v !== 'object' || Array.isArray(v)) throw new UsageError(`Each record must be a JSON object of column: value (in ${from}).`);
  return values as Record<string, Cell>[];
}
