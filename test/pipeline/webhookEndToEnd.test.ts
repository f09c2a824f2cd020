import { afterAll, beforeAll, expect, it } from 'vitest';
import { createKey } from '../../src/auth/tenants.js';
import { trainDemoModels } from '../../scripts/train/demoModels.js';
import { client, startInProcessApi } from '../helpers/api.js';
import { createTestEnv, type TestEnv } from '../helpers/env.js';
import { startWorkerInProcess, type InProcessWorker } from '../helpers/worker.js';
import { startReceiver, type Receiver } from '../webhooks/harness.js';

// The whole road: a CSV upload with a callback_url → a worker scores it → the transaction that
// completes the job writes the delivery → the webhook worker signs and sends it → a receiver
// verifying with the standardwebhooks package gets it once.
let env: TestEnv;
let api: Awaited<ReturnType<typeof startInProcessApi>>;
let worker: InProcessWorker;
let receiver: Receiver;
let c: ReturnType<typeof client>;
const demo = trainDemoModels();

beforeAll(async () => {
  env = await createTestEnv({ CHUNK_ROWS: '10', WEBHOOK_RETRY_SCHEDULE: '0,1,1' });
  api = await startInProcessApi(env.config);
  worker = await startWorkerInProcess(env.env);
  c = client(api.url, (await createKey(env.pool, 'acme')).key);
  expect((await c.registerModel('penguins', demo.penguins.onnx, demo.penguins.signature)).status).toBe(201);
  const secret = await (await c.get('/v1/webhooks/default-secret')).json();
  receiver = await startReceiver({ secrets: [secret.secret] });
});
afterAll(async () => {
  await receiver?.stop();
  await worker?.close();
  await api?.close();
  await env?.close();
});

it('a completed CSV job reaches its callback_url once, signed, with the job as GET shows it', async () => {
  const res = await c.postCsv(`/v1/jobs?model=penguins&callback_url=${encodeURIComponent(receiver.url)}`, demo.penguins.holdoutCsv);
  expect(res.status).toBe(202);
  const { id } = await res.json();
  const hook = await receiver.next((r) => r.payload.type === 'job.completed');
  expect(hook.verified).toEqual([true]);
  expect(hook.status).toBe(200);
  expect(hook.payload.data).toMatchObject({ id, status: 'completed', rows: { total: 68, succeeded: 68, failed: 0 }, model: { name: 'penguins', version: 1 } });
  const job = await (await c.get(`/v1/jobs/${id}`)).json();
  expect(hook.payload.data).toEqual(job);
  // The sender records the attempt after the receiver has answered: poll the record, bounded.
  let deliveries = await (await c.get(`/v1/jobs/${id}/deliveries`)).json();
  for (let i = 0; i < 100 && deliveries.data[0]?.status !== 'delivered'; i++) {
    await new Promise((r) => setTimeout(r, 50));
    deliveries = await (await c.get(`/v1/jobs/${id}/deliveries`)).json();
  }
  expect(deliveries.data).toHaveLength(1);
  expect(deliveries.data[0]).toMatchObject({ status: 'delivered', event: 'job.completed', webhook_id: hook.webhookId });
  expect(receiver.requests.filter((r) => r.webhookId === hook.webhookId)).toHaveLength(1);
});

it('a cancelled job sends job.cancelled', async () => {
  // The upload is held open, so the job cannot be scored (let alone finish) before the cancel.
  const [header, ...lines] = demo.penguins.holdoutCsv.trim().split('\n');
  let upload!: ReadableStreamDefaultController<Uint8Array>;
  const body = new ReadableStream<Uint8Array>({ start: (ctl) => void (upload = ctl) });
  upload.enqueue(new TextEncoder().encode(`${header}\n${lines[0]}\n`));
  const url = `${api.url}/v1/jobs?model=penguins&idempotency_key=held-open&callback_url=${encodeURIComponent(receiver.url)}`;
  const authorization = `Bearer ${(await createKey(env.pool, 'acme')).key}`; // the same tenant as c
  const submitted = fetch(url, { method: 'POST', body, headers: { authorization, 'content-type': 'text/csv' }, duplex: 'half' } as RequestInit);
  submitted.catch(() => {}); // settled below; the server may end it once the job is cancelled
  let id: string | undefined;
  for (let i = 0; i < 1000 && !id; i++) {
    id = (await env.pool.query(`SELECT id FROM jobs WHERE idempotency_key = 'held-open'`)).rows[0]?.id;
    if (!id) await new Promise((r) => setTimeout(r, 10));
  }
  expect(id, 'the held upload made its job').toBeDefined();

  const cancel = await c.post(`/v1/jobs/${id}/cancel`);
  expect(cancel.status, await cancel.clone().text()).toBe(200);
  expect((await cancel.json()).status).toBe('cancelled');
  const hook = await receiver.next((r) => r.payload.type === 'job.cancelled' && r.payload.data.id === id);
  expect(hook.verified).toEqual([true]);
  expect(hook.payload.data).toMatchObject({ id, status: 'cancelled' });

  // Letting the upload end does not revive the job, and no other event is sent for it.
  upload.enqueue(new TextEncoder().encode(lines.slice(1).join('\n') + '\n'));
  upload.close();
  await submitted.then((r) => r.arrayBuffer(), () => undefined);
  expect((await (await c.get(`/v1/jobs/${id}`)).json()).status).toBe('cancelled');
  expect(receiver.requests.filter((r) => r.payload.data.id === id).map((r) => r.payload.type)).toEqual(['job.cancelled']);
});
