// The naive way, for contrast: the whole CSV as ONE BullMQ job, parsed with csv-parse (cast), one
// onnxruntime call and one INSERT (autocommit) per row into a table of one row per prediction —
// the way a tutorial does it.
import { Queue, QueueEvents, Worker } from 'bullmq';
import { randomUUID } from 'node:crypto';
import { parse } from 'csv-parse/sync';
import * as ort from 'onnxruntime-node';
import type pg from 'pg';
import { Redis } from 'ioredis';
import { benchModel, COLUMNS, csvHeader, csvRows, now, REDIS_URL } from './common.js';

export async function naive(pool: pg.Pool, prefix: string, rows: number): Promise<{ rows: number; seconds: number; rowsPerSecond: number }> {
  await pool.query('DROP TABLE IF EXISTS naive_predictions');
  await pool.query(`CREATE TABLE naive_predictions (job_id uuid NOT NULL, row_no bigint NOT NULL, value double precision, scores real[], PRIMARY KEY (job_id, row_no))`);
  const { onnx, signature } = benchModel();
  const mean = signature.mean as number[];
  const std = signature.std as number[];
  const session = await ort.InferenceSession.create(onnx);
  const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const queue = new Queue('naive', { connection, prefix });
  const events = new QueueEvents('naive', { connection: new Redis(REDIS_URL, { maxRetriesPerRequest: null }), prefix });
  const worker = new Worker(
    'naive',
    async (job) => {
      const records = parse(job.data.csv as string, { columns: true, cast: true }) as Record<string, number>[];
      let rowNo = 0;
      for (const rec of records) {
        rowNo++;
        const x = new Float32Array(COLUMNS.map((c, j) => (rec[c] - mean[j]) / std[j]));
        const out = await session.run({ input: new ort.Tensor('float32', x, [1, 20]) });
        const p = Array.from(out.probabilities.data as Float32Array);
        await pool.query('INSERT INTO naive_predictions (job_id, row_no, value, scores) VALUES ($1, $2, $3, $4)', [job.data.jobId, rowNo, p.indexOf(Math.max(...p)), p]);
      }
      return rowNo;
    },
    { connection: new Redis(REDIS_URL, { maxRetriesPerRequest: null }), prefix },
  );
  await events.waitUntilReady();
  const csv = csvHeader() + csvRows(rows, 3);
  const jobId = randomUUID();
  const t0 = now();
  const job = await queue.add('score', { csv, jobId });
  const done = await job.waitUntilFinished(events);
  const seconds = (now() - t0) / 1000;
  await worker.close();
  await events.close();
  await queue.close();
  connection.disconnect();
  await session.release();
  await pool.query('DROP TABLE naive_predictions');
  return { rows: done as number, seconds, rowsPerSecond: (done as number) / seconds };
}
