import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import readline from 'node:readline';
import net from 'node:net';

// Real processes of ours for integration tests. Our api and worker as ONE OS process each (node --import tsx), not through the tsx CLI: the CLI
// is a parent that relays signals to a child, so a SIGKILL sent to it would kill the relay and
// leave the real worker running as an orphan. Chaos needs the signal to reach the real thing.

const ROOT = path.resolve(import.meta.dirname, '../..');
const all = new Set<ChildProcess>();

export interface Proc {
  child: ChildProcess;
  pid: number;
  logs: Record<string, unknown>[];
  /** Resolves with the first log line (pino JSON) whose msg matches, seen before or after the call. */
  waitForLog(match: RegExp, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Sends the signal and resolves with the exit code, or the name of the signal that ended the process. */
  stop(signal?: NodeJS.Signals): Promise<number | NodeJS.Signals>;
  exited: Promise<number | NodeJS.Signals>;
}

export function startProcess(script: string, env: Record<string, string>): Proc {
  // SLUICE_TEST_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") profiles the processes a test starts.
  const nodeArgs = process.env.SLUICE_TEST_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', path.join(ROOT, script)], {
    cwd: ROOT,
    env: { ...process.env, ...env, LOG_LEVEL: env.LOG_LEVEL === 'debug' ? 'debug' : 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  all.add(child);
  const logs: Record<string, unknown>[] = [];
  const watchers: { re: RegExp; resolve: (l: Record<string, unknown>) => void }[] = [];
  const onLine = (line: string) => {
    let rec: Record<string, unknown>;
    try {
      rec = JSON.parse(line);
    } catch {
      rec = { msg: line };
    }
    logs.push(rec);
    if (process.env.SLUICE_TEST_VERBOSE) process.stderr.write(`[${script} ${child.pid}] ${line}\n`);
    for (const w of [...watchers]) if (w.re.test(String(rec.msg))) {
      watchers.splice(watchers.indexOf(w), 1);
      w.resolve(rec);
    }
  };
  readline.createInterface({ input: child.stdout! }).on('line', onLine);
  readline.createInterface({ input: child.stderr! }).on('line', onLine);
  const exited = once(child, 'exit').then(([code, signal]) => {
    all.delete(child);
    // A process that ends by a signal nobody sent it (an abort, a segfault) says why on stderr.
    if (code === null && !child.killed) process.stderr.write(`${script} ${child.pid} ended by ${signal}; last lines:\n${tail()}\n`);
    return (code ?? signal) as number | NodeJS.Signals;
  });
  const tail = () => logs.slice(-12).map((l) => JSON.stringify(l)).join('\n');
  return {
    child,
    pid: child.pid!,
    logs,
    exited,
    waitForLog(re, timeoutMs = 30_000) {
      const seen = logs.find((l) => re.test(String(l.msg)));
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`${script} did not log ${re} within ${timeoutMs} ms; last lines:\n${tail()}`)), timeoutMs);
        exited.then((code) => {
          clearTimeout(t);
          reject(new Error(`${script} exited (${code}) before logging ${re}; last lines:\n${tail()}`));
        });
        watchers.push({ re, resolve: (l) => (clearTimeout(t), resolve(l)) });
      });
    },
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode ?? child.signalCode!;
      child.kill(signal);
      return exited;
    },
  };
}

export async function startWorker(env: Record<string, string>, extra: Record<string, string> = {}): Promise<Proc> {
  const p = startProcess('workers/predict.ts', { ...env, ...extra });
  await p.waitForLog(/sluice worker started/, 45_000);
  return p;
}

export async function startApi(env: Record<string, string>, extra: Record<string, string> = {}): Promise<Proc & { url: string }> {
  const port = await freePort();
  const p = startProcess('src/server.ts', { ...env, PORT: String(port), HOST: '127.0.0.1', ...extra });
  await p.waitForLog(/sluice api listening/, 45_000);
  return Object.assign(p, { url: `http://127.0.0.1:${port}` });
}

export async function freePort(): Promise<number> {
  const srv = net.createServer().listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const port = (srv.address() as net.AddressInfo).port;
  srv.close();
  return port;
}

/** SIGKILLs every process these helpers started that is still alive (afterAll safety net). */
export async function killAll(): Promise<void> {
  await Promise.all([...all].map(async (c) => {
    if (c.exitCode === null && c.signalCode === null) {
      c.kill('SIGKILL');
      await once(c, 'exit').catch(() => {});
    }
  }));
}
