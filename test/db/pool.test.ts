import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { copyOutRows } from '../../src/db/copyOut.js';
import { createPool, withTransaction } from '../../src/db/pool.js';
import { UnavailableError } from '../../src/errors.js';
import { createTestEnv, type TestEnv } from '../helpers/env.js';

// Postgres being away is classified where pg's errors enter (src/db/pool.ts): every road a query
// takes out of createPool's pool rejects with an UnavailableError whose cause is pg's own error,
// here from real sessions ended by the server (pg_terminate_backend: SQLSTATE 57P01) and a real
// refused connection; any other database error passes through untouched.

let env: TestEnv;
let pool: pg.Pool;
beforeAll(async () => {
  env = await createTestEnv();
  pool = createPool(env.config, 3);
});
afterAll(async () => {
  await pool?.end();
  await env?.close();
});

/** Runs `start` (which sends a query tagged `tag`), ends that query's session from outside, and returns what `start` rejected with. */
async function cutMidQuery(tag: string, start: () => Promise<unknown>): Promise<unknown> {
  const outcome = start().then(
    () => new Error('the query was not cut'),
    (err: unknown) => err,
  );
  for (let i = 0; i < 200; i++) {
    const { rows } = await env.pool.query('SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE query LIKE $1 AND pid <> pg_backend_pid()', [`%${tag}%`]);
    if (rows.some((r) => r.ok)) return outcome;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`no session ran ${tag}`);
}

function expectUnavailable(err: unknown, code?: string) {
  expect(err).toBeInstanceOf(UnavailableError);
  expect((err as UnavailableError).service).toBe('postgres');
  if (code) expect((err as Error).cause).toMatchObject({ code });
}

describe('pg errors classified at the pool', () => {
  it('client.query on a checked-out client whose session the server ends: UnavailableError (cause 57P01)', async () => {
    const client = await pool.connect();
    try {
      expectUnavailable(await cutMidQuery('cut_client_query', () => client.query('SELECT pg_sleep(30) AS cut_client_query')), '57P01');
    } finally {
      client.release(true);
    }
  });

  it('pool.query (promise and callback), whose session the server ends: UnavailableError', async () => {
    expectUnavailable(await cutMidQuery('cut_pool_query', () => pool.query('SELECT pg_sleep(30) AS cut_pool_query')));
    const viaCallback = await cutMidQuery('cut_pool_callback', () => new Promise((resolve, reject) => pool.query('SELECT pg_sleep(30) AS cut_pool_callback', (err: Error | undefined, res: unknown) => (err ? reject(err) : resolve(res)))));
    expectUnavailable(viaCallback);
  });

  it('pool.query whose connection drops without a word from the server (socket cut): UnavailableError', async () => {
    // node-postgres reports a dropped socket as a client 'error' event first, which pool.query
    // turns into its rejection before the query's own failure arrives.
    const target = new URL(env.config.databaseUrl);
    const sockets = new Set<net.Socket>();
    const proxy = net.createServer((inbound) => {
      const outbound = net.connect(Number(target.port || 5432), target.hostname);
      for (const s of [inbound, outbound]) {
        sockets.add(s);
        s.on('error', () => {});
      }
      inbound.pipe(outbound).pipe(inbound);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const via = new URL(env.config.databaseUrl);
    via.hostname = '127.0.0.1';
    via.port = String((proxy.address() as net.AddressInfo).port);
    const cut = createPool({ databaseUrl: via.toString() }, 1);
    try {
      const outcome = cut.query('SELECT pg_sleep(30)').then(() => null, (e: unknown) => e);
      for (let i = 0; i < 200 && !(await env.pool.query("SELECT 1 FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(30)'")).rowCount; i++) await new Promise((r) => setTimeout(r, 25));
      for (const s of sockets) s.destroy();
      const err = await outcome;
      expectUnavailable(err);
      expect((err as Error).cause).toMatchObject({ message: 'Connection terminated unexpectedly' });
    } finally {
      // The server notices a vanished client only when it next writes to it: end the sleep now.
      await env.pool.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(30)'");
      await cut.end();
      proxy.close();
    }
  });

  it('a COPY stream cut mid-way: UnavailableError (cause 57P01)', async () => {
    const client = await pool.connect();
    try {
      expectUnavailable(await cutMidQuery('cut_copy', () => copyOutRows(client, 'SELECT pg_sleep(30) AS cut_copy')), '57P01');
    } finally {
      client.release(true);
    }
  });

  it('withTransaction whose session ends inside it: UnavailableError', async () => {
    const err = await cutMidQuery('cut_transaction', () => withTransaction(pool, (c) => c.query('SELECT pg_sleep(30) AS cut_transaction')));
    expectUnavailable(err, '57P01');
  });

  it('pool.connect and pool.query when nothing listens: UnavailableError (cause ECONNREFUSED)', async () => {
    const url = new URL(env.config.databaseUrl);
    url.port = '1';
    const nowhere = createPool({ databaseUrl: url.toString() }, 1);
    try {
      expectUnavailable(await nowhere.connect().then(() => null, (e: unknown) => e), 'ECONNREFUSED');
      expectUnavailable(await nowhere.query('SELECT 1').then(() => null, (e: unknown) => e), 'ECONNREFUSED');
    } finally {
      await nowhere.end();
    }
  });

  it('waiting past the connection timeout for a client of a full pool: UnavailableError', async () => {
    const one = createPool(env.config, 1);
    const held = await one.connect();
    try {
      const err = await one.connect().then(() => null, (e: unknown) => e);
      expectUnavailable(err);
      expect((err as Error).cause).toMatchObject({ message: 'timeout exceeded when trying to connect' });
    } finally {
      held.release();
      await one.end();
    }
  });

  it('any other database error passes through as pg raised it, and the pool still works after the cuts', async () => {
    const err = await pool.query('SELEC 1').then(() => null, (e: unknown) => e);
    expect(err).not.toBeInstanceOf(UnavailableError);
    expect(err).toMatchObject({ code: '42601' });
    const client = await pool.connect();
    try {
      await expect(client.query('SELECT 1/0')).rejects.toMatchObject({ code: '22012' });
    } finally {
      client.release();
    }
    expect((await pool.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
  });
});
