import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKey } from '../../src/auth/tenants.js';
import { client } from '../helpers/api.js';
import { createTestEnv, type TestEnv } from '../helpers/env.js';
import { accounting, expectExactlyOnce, registerSlowModel, rowsCsv } from './harness.js';
import { waitFor } from './infra.js';
import { startApi as apiProcess, killAll, startWorker as worker } from '../helpers/processes.js';

// Uploads that break off: a client that disconnects, an api told to stop (SIGTERM) while an upload
// streams in, an api killed outright. Nothing half-uploaded is ever scored as if it were whole, and
// no job is left `receiving` forever.

let env: TestEnv;
let auth: string;

beforeAll(async () => {
  env = await createTestEnv({ CHUNK_ROWS: '500', SHUTDOWN_GRACE_MS: '20000' });
  await worker(env.env, { WORKER_QUEUES: 'predict', INFERENCE_THREADS: '1' }); // stopped by killAll
  const a = await apiProcess(env.env);
  const { key } = await createKey(env.pool, 'acme');
  auth = `Bearer ${key}`;
  await registerSlowModel(client(a.url, key), 'slow', 256);
  await a.stop();
});
afterAll(async () => {
  await killAll();
  await env?.close();
});

/** A request body we feed by hand, to hold an upload open mid-stream. */
function streamingUpload(url: string, model = 'slow') {
  let ctrl!: ReadableStreamDefaultController<Uint8Array>;
  const body = new ReadableStream<Uint8Array>({ start: (c) => void (ctrl = c) });
  const abort = new AbortController();
  const response = fetch(`${url}/v1/jobs?model=${model}`, {
    method: 'POST', body, duplex: 'half', signal: abort.signal,
    headers: { authorization: auth, 'content-type': 'text/csv' },
  } as RequestInit);
  response.catch(() => {});
  return {
    response,
    send: (s: string) => ctrl.enqueue(new TextEncoder().encode(s)),
    end: () => ctrl.close(),
    abort: () => abort.abort(),
  };
}

/** The newest job of this file that is receiving and has stored at least `chunks` chunks. */
async function receivingJob(after: Date, chunks: number): Promise<string> {
  let id = '';
  await waitFor(async () => {
    const { rows } = await env.pool.query(`SELECT id FROM jobs WHERE created_at >= $1 AND status = 'receiving' AND chunks_total >= $2 ORDER BY created_at DESC LIMIT 1`, [after, chunks]);
    id = rows[0]?.id ?? '';
    return !!id;
  }, 20_000, `a receiving job with ${chunks} chunks`);
  return id;
}

async function jobRow(id: string) {
  const { rows } = await env.pool.query(
    `SELECT status, error_code, (SELECT count(*)::int FROM job_chunks WHERE job_id = $1) AS chunks, (SELECT count(*)::int FROM prediction_chunks WHERE job_id = $1) AS results FROM jobs WHERE id = $1`,
    [id],
  );
  return rows[0];
}

const waitStatus = (id: string, status: string) => waitFor(async () => (await jobRow(id)).status === status, 20_000, `job ${id} ${status}`);

describe('uploads that break off', () => {
  it('a client that disconnects mid-upload: the job ends failed upload_aborted, chunks and partial results removed', async () => {
    const a = await apiProcess(env.env);
    const t0 = new Date(Date.now() - 1000);
    const up = streamingUpload(a.url);
    up.send(rowsCsv(3000));
    const id = await receivingJob(t0, 5);
    // Workers score chunks while the upload still arrives: wait until some results exist, so the
    // cleanup has something to remove.
    await waitFor(async () => (await jobRow(id)).results > 0, 20_000, 'partial results');
    up.abort();
    await waitStatus(id, 'failed');
    expect(await jobRow(id)).toMatchObject({ status: 'failed', error_code: 'upload_aborted', chunks: 0, results: 0 });
    const view = await (await fetch(`${a.url}/v1/jobs/${id}`, { headers: { authorization: auth } })).json();
    expect(view).toMatchObject({ status: 'failed', error: { code: 'upload_aborted' } });
    expect(await a.stop()).toBe(0);
  });

  it('SIGTERM to the api mid-upload: no new connections, the upload in flight completes (202) and is scored; exit 0', async () => {
    const a = await apiProcess(env.env);
    const t0 = new Date(Date.now() - 1000);
    const up = streamingUpload(a.url);
    up.send(rowsCsv(2000));
    const id = await receivingJob(t0, 3);
    a.child.kill('SIGTERM');
    await a.waitForLog(/^stopping/);
    await expect(fetch(`${a.url}/healthz`)).rejects.toThrow();
    up.send(rowsCsv(2000, 2001).split('\n').slice(1).join('\n'));
    up.end();
    const res = await up.response;
    expect(res.status).toBe(202);
    expect((await res.json()).id).toBe(id);
    expect(await a.exited).toBe(0);
    await waitStatus(id, 'completed');
    expectExactlyOnce(await accounting(env.pool, id), 4000, { errors: 0 });
  });

  it('SIGTERM to the api, grace period over: the cut upload ends failed upload_aborted, nothing scored; exit 0', async () => {
    const a = await apiProcess(env.env, { SHUTDOWN_GRACE_MS: '1500' });
    const t0 = new Date(Date.now() - 1000);
    const up = streamingUpload(a.url);
    up.send(rowsCsv(2000));
    const id = await receivingJob(t0, 3);
    a.child.kill('SIGTERM');
    await a.waitForLog(/grace period over/);
    expect(await a.exited).toBe(0);
    await expect(up.response.then((r) => r.status)).rejects.toThrow();
    expect(await jobRow(id)).toMatchObject({ status: 'failed', error_code: 'upload_aborted', chunks: 0, results: 0 });
  });

  it('an api SIGKILLed mid-upload leaves a receiving job; the watchdog fails it upload_aborted and removes its chunks', async () => {
    const dog = await worker(env.env, { WORKER_QUEUES: 'webhooks', JOB_STALL_TIMEOUT_MS: '2000', WATCHDOG_INTERVAL_MS: '300' });
    const a = await apiProcess(env.env);
    const t0 = new Date(Date.now() - 1000);
    const up = streamingUpload(a.url);
    up.send(rowsCsv(2000));
    const id = await receivingJob(t0, 3);
    await a.stop('SIGKILL');
    await dog.waitForLog(/watchdog ended a job/, 20_000);
    expect(await jobRow(id)).toMatchObject({ status: 'failed', error_code: 'upload_aborted', chunks: 0, results: 0 });
    await dog.stop();
  });
});
