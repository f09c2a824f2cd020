// A throwaway Postgres cluster for a bench section whose figures are cluster-wide (WAL): initdb on
// a free port in a temp dir, Postgres's defaults but for the port and max_wal_size (as compose
// sets it), a migrated database `sluice`. Run as the `postgres` user when the bench runs as root
// (initdb refuses root). Unlike test/reliability/infra.ts's chaos cluster, fsync and full-page
// writes stay on: the WAL written is what production writes.
import { execFile } from 'node:child_process';
import { chmod, chown, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { migrate } from '../../src/db/migrate.js';
import { freePort } from '../../test/helpers/processes.js';

const run = promisify(execFile);

export async function startPrivatePostgres(): Promise<{ url: string; remove(): Promise<void> }> {
  const bin = (await run('pg_config', ['--bindir'])).stdout.trim();
  const port = await freePort();
  const dir = await mkdtemp(path.join(tmpdir(), 'sluice-bench-pg-'));
  const data = path.join(dir, 'data');
  let asUser: { uid: number; gid: number } | null = null;
  if (process.getuid?.() === 0) {
    const [uid, gid] = await Promise.all([run('id', ['-u', 'postgres']), run('id', ['-g', 'postgres'])]);
    asUser = { uid: Number(uid.stdout), gid: Number(gid.stdout) };
    await chown(dir, asUser.uid, asUser.gid);
  }
  await chmod(dir, 0o700);
  const pgRun = (cmd: string, args: string[]) => run(path.join(bin, cmd), args, { ...(asUser ?? {}), cwd: dir, env: { ...process.env, LC_ALL: 'C' } });
  await pgRun('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8']);
  const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=200 -c max_wal_size=4GB`;
  await pgRun('pg_ctl', ['-D', data, '-l', path.join(dir, 'log'), '-o', opts, '-w', '-t', '60', 'start']);
  const base = `postgres://postgres@127.0.0.1:${port}`;
  const remove = async () => {
    await pgRun('pg_ctl', ['-D', data, '-m', 'fast', '-w', '-t', '60', 'stop']).catch(() => {});
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const admin = new pg.Client({ connectionString: `${base}/postgres` });
    await admin.connect();
    await admin.query('CREATE DATABASE sluice');
    await admin.end();
    const c = new pg.Client({ connectionString: `${base}/sluice` });
    await c.connect();
    await migrate(c);
    await c.end();
  } catch (err) {
    await remove();
    throw err;
  }
  return { url: `${base}/sluice`, remove };
}
