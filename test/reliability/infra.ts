import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chmod, chown, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Redis, type RedisOptions } from 'ioredis';
import pg from 'pg';
import { migrate } from '../../src/db/migrate.js';
import { freePort } from '../helpers/processes.js';

// Private Redis and Postgres servers for chaos: started on free ports in temp dirs, so a test can
// stop, kill, flush and restart them without touching the machine's shared services.

const run = promisify(execFile);

export interface RedisServer {
  url: string;
  port: number;
  /** A fresh client (caller disconnects it). */
  client(): Redis;
  /** SIGKILL: the server dies with whatever it held in memory. */
  kill(): Promise<void>;
  /** Starts it again on the same port (empty unless persistence args were given). */
  start(): Promise<void>;
  remove(): Promise<void>;
}

/** redis-server on a free port. `args` are extra config (e.g. ['--maxmemory-policy', 'allkeys-lru']). */
/** Answers PING (a server that is still starting refuses the connection). */
export async function redisPings(opts: RedisOptions): Promise<boolean> {
  const r = new Redis({ host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0, ...opts });
  r.on('error', () => {});
  try {
    await r.connect();
    return (await r.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    r.disconnect();
  }
}

export async function startRedisServer(args: string[] = []): Promise<RedisServer> {
  const port = await freePort();
  const dir = await mkdtemp(path.join(tmpdir(), 'sluice-chaos-redis-'));
  let proc: ChildProcess | null = null;
  const start = async () => {
    proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', ...args], { stdio: 'ignore' });
    await waitFor(() => redisPings({ port }), 10_000, `redis-server on ${port}`);
  };
  const kill = async () => {
    const p = proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    p.kill('SIGKILL');
    await once(p, 'exit');
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    client: () => {
      const r = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: null });
      r.on('error', () => {});
      return r;
    },
    kill,
    start,
    async remove() {
      await kill();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface PostgresServer {
  url: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  remove(): Promise<void>;
}

/** A throwaway Postgres cluster (initdb + pg_ctl) with a migrated database `sluice`. */
export async function startPostgres(): Promise<PostgresServer> {
  const { stdout } = await run('pg_config', ['--bindir']);
  const bin = stdout.trim();
  const port = await freePort();
  const dir = await mkdtemp(path.join(tmpdir(), 'sluice-chaos-pg-'));
  const data = path.join(dir, 'data');
  // initdb refuses to run as root: run the server binaries as the postgres user then.
  const asUser = process.getuid?.() === 0 ? await postgresUser() : null;
  if (asUser) await chown(dir, asUser.uid, asUser.gid);
  await chmod(dir, 0o700);
  const pgRun = (cmd: string, args: string[]) => run(path.join(bin, cmd), args, { ...(asUser ?? {}), cwd: dir, env: { ...process.env, LC_ALL: 'C' } });
  await pgRun('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8']);
  const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200`;
  const start = async () => {
    await pgRun('pg_ctl', ['-D', data, '-l', path.join(dir, 'log'), '-o', opts, '-w', '-t', '30', 'start']);
  };
  const stop = async () => {
    await pgRun('pg_ctl', ['-D', data, '-m', 'fast', '-w', '-t', '30', 'stop']);
  };
  await start();
  const base = `postgres://postgres@127.0.0.1:${port}`;
  const admin = new pg.Client({ connectionString: `${base}/postgres` });
  await admin.connect();
  await admin.query('CREATE DATABASE sluice');
  await admin.end();
  const url = `${base}/sluice`;
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  await migrate(c);
  await c.end();
  return {
    url,
    stop,
    start,
    async remove() {
      await stop().catch(() => {});
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function postgresUser(): Promise<{ uid: number; gid: number }> {
  const [{ stdout: uid }, { stdout: gid }] = await Promise.all([run('id', ['-u', 'postgres']), run('id', ['-g', 'postgres'])]);
  return { uid: Number(uid), gid: Number(gid) };
}

/** Polls `check` until it is true; for state that has no event to await (rows in a table, a key in Redis). */
export async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs: number, what: string, everyMs = 100): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
