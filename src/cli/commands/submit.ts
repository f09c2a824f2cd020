import { stat } from 'node:fs/promises';
import type { CommandSpec } from '../command.js';
import { EXIT, UsageError } from '../exitCodes.js';
import { oneOf, rate } from '../parse.js';
import { createProgress } from '../progress.js';
import { finishJob } from '../watch.js';

export const submit: CommandSpec = {
  words: ['submit'],
  args: ['<file>'],
  summary: 'Upload a file (CSV; JSON Lines for .jsonl/.ndjson; gzip for .gz) to be scored; with --wait, watch it and download the results',
  description:
    'Bars on a terminal: the upload (bytes, MB/s, ETA), the scoring (rows, rows/s, ETA, failed rows), the download. ' +
    'Without --wait (or --out) it prints the job id and returns once the upload is stored.',
  options: [
    { flags: '-m, --model <model>', description: 'name, name:version or name@alias', required: true },
    { flags: '-w, --wait', description: 'watch the job to its end; the exit code tells how it ended' },
    { flags: '-o, --out <path>', description: 'write the results here when the job ends (implies --wait)' },
    { flags: '--format <format>', description: 'results format for --out: csv or ndjson (default: from the extension, else csv)', parse: oneOf('csv', 'ndjson') },
    { flags: '--callback-url <url>', description: 'POST a signed webhook here when the job ends' },
    { flags: '--max-error-rate <share>', description: 'fail the job (and exit 1) once more than this share of rows fail, 0..1', parse: rate },
    { flags: '--delimiter <d>', description: 'cell separator of the CSV: "," (default), ";" or tab' },
    { flags: '--decimal <mark>', description: 'decimal mark of numeric cells: "." (default) or ","', parse: oneOf('.', ',') },
    { flags: '--idempotency-key <key>', description: 'resubmitting with the same key returns the first job (default: a fresh key, so retries never make two jobs)' },
  ],
  examples: [
    'sluice submit penguins.csv --model penguins@production --wait --out results.csv',
    'JOB=$(sluice submit big.csv --model cars) && sluice jobs wait "$JOB"',
    'sluice submit eu.csv --model penguins --delimiter ";" --decimal , --max-error-rate 0.01 --wait',
  ],
  async run(ctx, [file], opts) {
    const size = await stat(file).then((s) => (s.isFile() ? s.size : null), () => null);
    if (size === null) throw new UsageError(`Cannot read ${file}: it is not a file here.`);
    const client = await ctx.client();
    const progress = createProgress(ctx.out);
    const upload = progress.bar('upload');
    const maxErrorRate = opts.maxErrorRate as number | undefined;
    let job;
    try {
      job = await client.jobs.submitFile(file, {
        model: opts.model as string,
        callback_url: opts.callbackUrl as string | undefined,
        max_error_rate: maxErrorRate,
        delimiter: opts.delimiter as string | undefined,
        decimal: opts.decimal as '.' | ',' | undefined,
        idempotency_key: opts.idempotencyKey as string | undefined,
        signal: ctx.signal,
        onProgress: (p) => upload.update({ value: p.sentBytes, total: p.totalBytes }),
      });
    } catch (err) {
      progress.stop();
      throw err;
    }
    upload.done({ value: size, total: size });
    if (!opts.wait && !opts.out) {
      progress.stop();
      if (ctx.out.json) ctx.out.data(job);
      else {
        ctx.out.line(job.id);
        ctx.out.note(`Job ${job.id} (${job.model.name}:${job.model.version}) is ${job.status}. Watch it: sluice jobs wait ${job.id}`);
      }
      return EXIT.ok;
    }
    return finishJob(ctx, client, job, progress, { maxErrorRate, out: opts.out as string | undefined, format: opts.format as 'csv' | 'ndjson' | undefined });
  },
};
