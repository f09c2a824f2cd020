import http from 'node:http';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createKey } from '../../src/auth/tenants.js';
import { trainDemoModels } from '../../scripts/train/demoModels.js';
import { client, startInProcessApi } from '../helpers/api.js';
import { createTestEnv, type TestEnv } from '../helpers/env.js';
import { expectProblem } from '../helpers/problem.js';

// A multipart upload cut off mid-file ends its job at once (upload_aborted), and the idempotency
// key it carried can be used again to send the file whole.
let env: TestEnv;
let api: Awaited<ReturnType<typeof startInProcessApi>>;
let key: string;
const demo = trainDemoModels();

beforeAll(async () => {
  env = await createTestEnv();
  api = await startInProcessApi(env.config);
  key = (await createKey(env.pool, 'acme')).key;
  expect((await client(api.url, key).registerModel('penguins', demo.penguins.onnx, demo.penguins.signature)).status).toBe(201);
});
afterAll(async () => {
  await api?.close();
  await env?.close();
});

/** Sends the form's fields and the first half of its file part, then drops the connection. */
async function cutMultipart(idempotencyKey: string): Promise<void> {
  const boundary = 'sluice-test-boundary';
  const head = [
    `--${boundary}\r\nContent-Disposition: form-data; name="model"\r\n\r\npenguins\r\n`,
    `--${boundary}\r\nContent-Disposition: form-data; name="idempotency_key"\r\n\r\n${idempotencyKey}\r\n`,
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="p.csv"\r\nContent-Type: text/csv\r\n\r\n`,
  ].join('');
  const url = new URL(`${api.url}/v1/jobs`);
  const req = http.request({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': `multipart/form-data; boundary=${boundary}`, 'transfer-encoding': 'chunked' } });
  req.on('error', () => {});
  req.write(head + demo.penguins.holdoutCsv.repeat(200));
  // The job exists once the header row has been read and stored.
  let created = false;
  for (let i = 0; i < 1000 && !created; i++) {
    const { rows } = await env.pool.query(`SELECT count(*)::int AS n FROM jobs WHERE idempotency_key = $1`, [idempotencyKey]);
    created = rows[0].n > 0;
    if (!created) await new Promise((r) => setTimeout(r, 10));
  }
  req.destroy();
  expect(created).toBe(true); // cut mid-file, after the job existed
}

it('a multipart upload cut off mid-file ends upload_aborted at once, and its idempotency key is free again', async () => {
  await cutMultipart('retry-me');
  let job: { status: string; error_code: string } | undefined;
  for (let i = 0; i < 200 && job?.status !== 'failed'; i++) {
    job = (await env.pool.query(`SELECT status, error_code FROM jobs ORDER BY created_at DESC LIMIT 1`)).rows[0];
    if (job?.status !== 'failed') await new Promise((r) => setTimeout(r, 25));
  }
  expect(job).toEqual({ status: 'failed', error_code: 'upload_aborted' });
  const { rows } = await env.pool.query(`SELECT count(*)::int AS n FROM job_chunks`);
  expect(rows[0].n).toBe(0);

  const c = client(api.url, key);
  const again = await c.postCsv('/v1/jobs?model=penguins&idempotency_key=retry-me', demo.penguins.holdoutCsv);
  expect(again.status).toBe(202);
});

it("an online prediction may not reuse a batch job's idempotency key", async () => {
  const c = client(api.url, key);
  expect((await c.postCsv('/v1/jobs?model=penguins&idempotency_key=batch-1', demo.penguins.holdoutCsv)).status).toBe(202);
  await expectProblem(await c.postJson('/v1/predictions', { model: 'penguins', inputs: [{}], idempotency_key: 'batch-1' }), 409, 'idempotency_conflict');
});
