import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { accessSync, chownSync, constants, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';

// The demo's Postgres and Redis. When the configured ones answer, they are used as they are. When
// one does not, the demo starts a throwaway instance from the binaries installed on this machine,
// on a free port, with its data in a temporary folder, and stops it (and deletes the folder) with
// the demo. Where no binary is installed it says which package or container provides one.

/** The uid:gid that runs a throwaway Postgres when the demo runs as root (initdb and postgres refuse root). */
const NOBODY = 65534;

export interface DemoServices {
  databaseUrl: string;
  redisUrl: string;
  /** What was started here, for the demo's summary (empty when both were already running). */
  started: string[];
  stop(): Promise<void>;
}

export class ServiceUnavailableError extends Error {}

export async function ensureServices(databaseUrl: string, redisUrl: string, say: (s: string) => void): Promise<DemoServices> {
  const stops: (() => Promise<void>)[] = [];
  const started: string[] = [];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch(() => {});
  };
  try {
    const db = new URL(databaseUrl);
    if (!(await answers(db.hostname, Number(db.port || 5432)))) {
      say(`    Postgres does not answer at ${db.hostname}:${db.port || 5432}: starting a throwaway one`);
      const pgs = await startPostgres(decodeURIComponent(db.username) || 'postgres');
      stops.push(pgs.stop);
      db.hostname = '127.0.0.1';
      db.port = String(pgs.port);
      db.password = '';
      databaseUrl = db.toString();
      started.push(`Postgres ${pgs.version} on 127.0.0.1:${pgs.port} (data in ${pgs.dir})`);
    }
    const redis = new URL(redisUrl);
    if (!(await answers(redis.hostname, Number(redis.port || 6379)))) {
      say(`    Redis does not answer at ${redis.hostname}:${redis.port || 6379}: starting a throwaway one`);
      const rs = await startRedis();
      stops.push(rs.stop);
      redis.hostname = '127.0.0.1';
      redis.port = String(rs.port);
      redis.password = '';
      redisUrl = redis.toString();
      started.push(`Redis on 127.0.0.1:${rs.port} (data in ${rs.dir})`);
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { databaseUrl, redisUrl, started, stop };
}

function answers(host: string, port: number, timeoutMs = 1500): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

async function freePort(): Promise<number> {
  const srv = net.createServer().listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const { port } = srv.address() as net.AddressInfo;
  await new Promise((r) => srv.close(r));
  return port;
}

function onPath(name: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const p = path.join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {}
  }
  return null;
}

/** The newest server found under /usr/lib/postgresql/<version>/bin (Debian, Ubuntu), else initdb on PATH. */
function findPostgres(): { bin: string; version: string } | null {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(path.join(root, v, 'bin/initdb')) && existsSync(path.join(root, v, 'bin/postgres'))) : [];
  versions.sort((a, b) => Number(b) - Number(a));
  if (versions.length) return { bin: path.join(root, versions[0], 'bin'), version: versions[0] };
  const initdb = onPath('initdb');
  if (initdb && onPath('postgres')) return { bin: path.dirname(initdb), version: '' };
  return null;
}

/**
 * As root, run as nobody: initdb and postgres refuse to run as root. setpriv (util-linux) is
 * preferred; runuser is the fallback.
 */
function asUnprivileged(cmd: string, args: string[]): [string, string[]] {
  if (process.getuid?.() !== 0) return [cmd, args];
  const setpriv = onPath('setpriv');
  if (setpriv) return [setpriv, [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', cmd, ...args]];
  const runuser = onPath('runuser');
  if (runuser) return [runuser, ['-u', 'nobody', '--', cmd, ...args]];
  throw new ServiceUnavailableError('the demo runs as root and neither setpriv nor runuser (util-linux) is installed to start Postgres as an unprivileged user; run the demo as another user');
}

function collect(child: ChildProcess): () => string {
  let out = '';
  const add = (b: Buffer) => {
    out = (out + b.toString()).slice(-4000);
  };
  child.stdout?.on('data', add);
  child.stderr?.on('data', add);
  return () => out;
}

async function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const [code] = await once(child, 'exit');
  return code as number | null;
}

async function startPostgres(user: string) {
  const found = findPostgres();
  if (!found) {
    throw new ServiceUnavailableError(
      'Postgres does not answer and no PostgreSQL server is installed here to start one. Install it ' +
        '(Debian/Ubuntu: `apt-get install postgresql`; macOS: `brew install postgresql@15`), or run one in a container: ' +
        '`docker run -d --name sluice-postgres -p 5432:5432 -e POSTGRES_HOST_AUTH_METHOD=trust postgres:15`, then run the demo again.',
    );
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-demo-postgres-'));
  const remove = () => rmSync(dir, { recursive: true, force: true });
  try {
    const data = path.join(dir, 'data');
    mkdirSync(data, { mode: 0o700 });
    if (process.getuid?.() === 0) {
      chownSync(dir, NOBODY, NOBODY);
      chownSync(data, NOBODY, NOBODY);
    }
    const [initCmd, initArgs] = asUnprivileged(path.join(found.bin, 'initdb'), ['-D', data, '-U', user, '--auth=trust', '--encoding=UTF8', '--no-sync']);
    const init = spawn(initCmd, initArgs, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    const initOut = collect(init);
    if ((await exited(init)) !== 0) throw new Error(`initdb failed:\n${initOut()}`);
    const port = await freePort();
    const [cmd, args] = asUnprivileged(path.join(found.bin, 'postgres'), ['-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off']);
    const server = spawn(cmd, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    const out = collect(server);
    const stop = async () => {
      // SIGINT is Postgres's fast shutdown: active sessions are ended, nothing is kept anyway.
      if (server.exitCode === null && server.signalCode === null) {
        server.kill('SIGINT');
        await exited(server);
      }
      remove();
    };
    const url = `postgres://${encodeURIComponent(user)}@127.0.0.1:${port}/postgres`;
    for (let i = 0; ; i++) {
      if (server.exitCode !== null) throw new Error(`postgres exited with ${server.exitCode}:\n${out()}`);
      const client = new pg.Client({ connectionString: url });
      client.on('error', () => {});
      try {
        await client.connect();
        await client.query('SELECT 1');
        await client.end();
        break;
      } catch {
        await client.end().catch(() => {});
        if (i >= 150) {
          await stop();
          throw new Error(`postgres did not accept connections within 30 s:\n${out()}`);
        }
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    return { port, dir, version: found.version, stop };
  } catch (err) {
    remove();
    throw err;
  }
}

async function startRedis() {
  const bin = onPath('redis-server');
  if (!bin) {
    throw new ServiceUnavailableError(
      'Redis does not answer and redis-server is not installed here to start one. Install it ' +
        '(Debian/Ubuntu: `apt-get install redis-server`; macOS: `brew install redis`), or run one in a container: ' +
        '`docker run -d --name sluice-redis -p 6379:6379 redis:7`, then run the demo again.',
    );
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-demo-redis-'));
  const port = await freePort();
  // Nothing kept on disk: the data goes with the demo. noeviction, as a queue needs.
  const server = spawn(bin, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--maxmemory-policy', 'noeviction'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  const out = collect(server);
  const stop = async () => {
    if (server.exitCode === null && server.signalCode === null) {
      server.kill('SIGTERM');
      await exited(server);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  for (let i = 0; !(await answers('127.0.0.1', port, 500)); i++) {
    if (server.exitCode !== null || i >= 100) {
      await stop();
      throw new Error(`redis-server did not start:\n${out()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { port, dir, stop };
}
