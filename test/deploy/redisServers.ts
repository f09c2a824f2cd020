import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { freePort } from '../helpers/processes.js';
import { redisPings, waitFor } from '../reliability/infra.js';

// Throwaway Redis servers for the deployment tests, on free ports in temp dirs: a 3-node Redis
// Cluster (redis-server --cluster-enabled + redis-cli --cluster create) and a TLS-only Redis with
// certificates made here by openssl. The machine's shared Redis is never touched.

const run = promisify(execFile);

interface Server {
  port: number;
  proc: ChildProcess;
}

async function startServer(args: string[]): Promise<ChildProcess> {
  const proc = spawn('redis-server', ['--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  proc.stderr!.resume();
  return proc;
}

async function stopServer(proc: ChildProcess) {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  proc.kill('SIGKILL');
  await once(proc, 'exit');
}

export interface RedisCluster {
  /** host:port of each primary, comma-separated: REDIS_CLUSTER_NODES. */
  nodes: string;
  ports: number[];
  /** A plain connection to one node (caller disconnects). */
  node(port: number): Redis;
  stop(): Promise<void>;
}

/** Three primaries, no replicas, every slot assigned; resolves once each node says cluster_state:ok. */
export async function startRedisCluster(): Promise<RedisCluster> {
  const dir = await mkdtemp(path.join(tmpdir(), 'sluice-redis-cluster-'));
  const servers: Server[] = [];
  try {
    for (let i = 0; i < 3; i++) {
      // The bus port is given, not port+10000 (a free port above 55535 has no such neighbour).
      const [port, bus] = [await freePort(), await freePort()];
      const proc = await startServer(['--port', String(port), '--cluster-enabled', 'yes', '--cluster-port', String(bus), '--cluster-config-file', path.join(dir, `nodes-${port}.conf`), '--dir', dir, '--cluster-node-timeout', '5000']);
      servers.push({ port, proc });
    }
    for (const s of servers) await waitFor(() => redisPings({ port: s.port }), 10_000, `redis-server on ${s.port}`);
    const addrs = servers.map((s) => `127.0.0.1:${s.port}`);
    await run('redis-cli', ['--cluster', 'create', ...addrs, '--cluster-replicas', '0', '--cluster-yes']);
    // Gossip settles on its own: no event says when, so each node is asked until it agrees.
    for (const s of servers) {
      await waitFor(async () => {
        const r = new Redis({ port: s.port, host: '127.0.0.1', maxRetriesPerRequest: 1 });
        r.on('error', () => {});
        try {
          const info = await r.cluster('INFO');
          return /cluster_state:ok/.test(info) && /cluster_slots_ok:16384/.test(info) && /cluster_known_nodes:3/.test(info);
        } catch {
          return false;
        } finally {
          r.disconnect();
        }
      }, 20_000, `cluster_state:ok on ${s.port}`);
    }
  } catch (err) {
    await Promise.all(servers.map((s) => stopServer(s.proc)));
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    nodes: servers.map((s) => `127.0.0.1:${s.port}`).join(','),
    ports: servers.map((s) => s.port),
    node: (port) => {
      const r = new Redis({ port, host: '127.0.0.1' });
      r.on('error', () => {});
      return r;
    },
    async stop() {
      await Promise.all(servers.map((s) => stopServer(s.proc)));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface TlsRedis {
  /** rediss://127.0.0.1:port */
  url: string;
  port: number;
  /** The CA that signed the server's certificate (PEM file): REDIS_TLS_CA_FILE. */
  caFile: string;
  /** A CA that signed nothing this server shows, for the refusal case. */
  otherCaFile: string;
  stop(): Promise<void>;
}

/** A CA, and a server certificate it signs for 127.0.0.1 and localhost; returns the files. */
async function makeCertificates(dir: string) {
  const f = (n: string) => path.join(dir, n);
  const ssl = (...args: string[]) => run('openssl', args, { cwd: dir });
  for (const ca of ['ca', 'other-ca']) {
    await ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '2', '-subj', `/CN=sluice test ${ca}`, '-keyout', f(`${ca}.key`), '-out', f(`${ca}.crt`));
  }
  await ssl('req', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-subj', '/CN=localhost', '-keyout', f('server.key'), '-out', f('server.csr'));
  await writeFile(f('server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  await ssl('x509', '-req', '-in', f('server.csr'), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-days', '2', '-sha256', '-extfile', f('server.ext'), '-out', f('server.crt'));
  return { ca: f('ca.crt'), otherCa: f('other-ca.crt'), cert: f('server.crt'), key: f('server.key') };
}

/** redis-server listening on TLS only (--port 0), client certificates not asked for (as managed services do). */
export async function startTlsRedis(): Promise<TlsRedis> {
  const dir = await mkdtemp(path.join(tmpdir(), 'sluice-redis-tls-'));
  let proc: ChildProcess | null = null;
  try {
    const certs = await makeCertificates(dir);
    const port = await freePort();
    proc = await startServer(['--port', '0', '--tls-port', String(port), '--tls-cert-file', certs.cert, '--tls-key-file', certs.key, '--tls-ca-cert-file', certs.ca, '--tls-auth-clients', 'no', '--dir', dir]);
    const ca = await readFile(certs.ca);
    await waitFor(() => redisPings({ port, tls: { ca } }), 10_000, `TLS redis-server on ${port}`);
    const p = proc;
    return {
      url: `rediss://127.0.0.1:${port}`,
      port,
      caFile: certs.ca,
      otherCaFile: certs.otherCa,
      async stop() {
        await stopServer(p);
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    if (proc) await stopServer(proc);
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}
