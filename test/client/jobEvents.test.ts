import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { jobProgress, Sluice, type Job } from '../../src/client/index.js';

// The client's side of the job events contract (GET /v1/jobs/{id}/events, Server-Sent Events):
// each event's data is the job; `status`, `progress`, then a final `completed`/`failed`/
// `cancelled` and the stream ends; ids for Last-Event-ID; `: hb` heartbeats. A small HTTP server
// here speaks the contract so the cases the client must survive can be made on purpose: a
// connection cut mid-job, a silent stream, an api without the route.

const ID = '0b7d3c2e-5f4a-4c1b-9e8d-2a6f1c3b4d5e';
const job = (status: Job['status'], done: number, progress: unknown = { fraction: done / 100, rows_done: done, rows_total: 100, rate_rows_per_second: 50, eta_seconds: (100 - done) / 50 }) =>
  ({ id: ID, object: 'job', status, rows: { total: 100, received: 100, succeeded: done, failed: 0 }, progress }) as unknown as Job;
const event = (res: ServerResponse, name: string, id: string, data: Job) => res.write(`id: ${id}\nevent: ${name}\ndata: ${JSON.stringify(data)}\n\n`);

let close: (() => Promise<void>) | null = null;
afterEach(async () => {
  await close?.();
  close = null;
});

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<Sluice> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  close = () => {
    server.closeAllConnections();
    return new Promise((r) => server.close(() => r()));
  };
  return new Sluice({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, apiKey: 'k', maxRetries: 0 });
}

describe('waitForJob over Server-Sent Events', () => {
  it('reads events in order, skips heartbeats, resumes a cut stream with Last-Event-ID and ends at the final event', async () => {
    const asked: (string | undefined)[] = [];
    const sluice = await serve((req, res) => {
      expect(req.url).toBe(`/v1/jobs/${ID}/events`);
      expect(req.headers.authorization).toBe('Bearer k');
      asked.push(req.headers['last-event-id'] as string | undefined);
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      if (asked.length === 1) {
        res.write('retry: 20\n\n: hb\n\n');
        event(res, 'status', '1-0', job('queued', 0));
        event(res, 'progress', '2-1', job('running', 40));
        res.write(': hb\n\n');
        setTimeout(() => res.socket!.destroy(), 20); // the api went away mid-job
      } else {
        event(res, 'progress', '2-2', job('running', 80));
        event(res, 'completed', '3-2', job('completed', 100));
        res.end();
      }
    });
    const seen: string[] = [];
    const final = await sluice.jobs.wait(ID, { onUpdate: (j, e) => seen.push(`${e}:${j.rows.succeeded}`) });
    expect(final.status).toBe('completed');
    expect(seen).toEqual(['status:0', 'progress:40', 'progress:80', 'completed:100']);
    expect(asked).toEqual([undefined, '2-1']);
  });

  it('a stream silent past the idle timeout (no heartbeat) is reopened', async () => {
    let connections = 0;
    const sluice = await serve((_req, res) => {
      connections++;
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('retry: 10\n\n');
      if (connections === 1) event(res, 'status', '2-0', job('running', 10)); // then nothing at all
      else {
        event(res, 'failed', '3-1', job('failed', 10));
        res.end();
      }
    });
    const final = await sluice.jobs.wait(ID, { idleTimeoutMs: 300 });
    expect(final.status).toBe('failed');
    expect(connections).toBe(2);
  });

  it('an api without the events route (404 not_found): long polling instead', async () => {
    const polls: string[] = [];
    const sluice = await serve((req, res) => {
      if (req.url!.endsWith('/events')) {
        res.writeHead(404, { 'content-type': 'application/problem+json' }).end(JSON.stringify({ status: 404, code: 'not_found', detail: 'No route' }));
        return;
      }
      polls.push(req.url!);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(polls.length < 3 ? job('running', 30 * polls.length, 0.3 * polls.length) : job('completed', 100, 1)));
    });
    const seen: string[] = [];
    const final = await sluice.jobs.wait(ID, { onUpdate: (j, e) => seen.push(`${e}:${j.status}`) });
    expect(final.status).toBe('completed');
    expect(seen).toEqual(['poll:running', 'poll:running', 'poll:completed']);
    expect(polls).toEqual([`/v1/jobs/${ID}?wait=1`, `/v1/jobs/${ID}?wait=1`, `/v1/jobs/${ID}?wait=1`]);
  });

  it('the job itself not found (404 job_not_found) is the caller\'s error, not a reason to poll', async () => {
    const sluice = await serve((_req, res) => {
      res.writeHead(404, { 'content-type': 'application/problem+json' }).end(JSON.stringify({ status: 404, code: 'job_not_found', detail: `There is no job ${ID}.` }));
    });
    await expect(sluice.jobs.wait(ID)).rejects.toMatchObject({ status: 404, code: 'job_not_found' });
  });
});

describe('jobProgress', () => {
  it('reads the progress object, and the bare fraction of earlier servers', () => {
    expect(jobProgress(job('running', 40))).toEqual({ fraction: 0.4, rowsDone: 40, rowsTotal: 100, rowsFailed: 0, ratePerSecond: 50, etaSeconds: 1.2 });
    expect(jobProgress(job('running', 40, 0.4))).toEqual({ fraction: 0.4, rowsDone: 40, rowsTotal: 100, rowsFailed: 0, ratePerSecond: null, etaSeconds: null });
    expect(jobProgress({ progress: null, rows: { total: null, received: 7, succeeded: 0, failed: 0 } })).toMatchObject({ fraction: null, rowsTotal: null });
  });
});
