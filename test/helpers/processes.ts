import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import readline from 'node:readline';
import net from 'node:net';

// Real processes of ours for integration tests. Our api and worker as ONE OS process each (node --import tsx), not through the tsx CLI: the CLI
// is a parent that relays signals to a child, so a SIGKILL sent to it would kill the relay and
// leave the real worker running as an orphan. Chaos needs the signal to reach the real thing.
// A process tells us it is ready by a message on its IPC channel (src/lifecycle.ts announceReady),
// never by a log line; its logs are collected for failure messages and for tests about them.

const ROOT = path.resolve(import.meta.dirname, '../..');
const all = new Set<ChildProcess>();

export interface Proc {
  child: ChildProcess;
  pid: number;
  logs: Record<string, unknown>[];
  /**
   * Resolves with the first log line (pino JSON) whose msg matches, seen before or after the call:
   * for tests about what a process logs, not to learn that it is ready (see `ready`).
   */
  waitForLog(match: RegExp, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Sends the signal and resolves with the exit code, or the name of the signal that ended the process. */
  stop(signal?: NodeJS.Signals): Promise<number | NodeJS.Signals>;
  exited: Promise<number | NodeJS.Signals>;
  /**
   * Resolves with the process's readiness message (`{ ready: true, ... }`). A process that exits
   * first, or is not ready within `timeoutMs`, is SIGKILLed and this rejects with its last lines.
   */
  ready(timeoutMs?: number): Promise<Record<string, unknown>>;
}

/**
 * `root`: the checkout the script is in, ROOT (this one) unless a test runs another release's code
 * (test/deploy/upgrade.test.ts): cwd is that checkout, so `--import tsx` and every import resolve
 * in its own node_modules.
 */
export function startProcess(script: string, env: Record<string, string>, root = ROOT): Proc {
  // SLUICE_TEST_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") profiles the processes a test starts.
  const nodeArgs = process.env.SLUICE_TEST_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', path.join(root, script)], {
    cwd: root,
    // Metrics listeners on free loopback ports unless the caller says otherwise: never a fixed port.
    env: { ...process.env, METRICS_PORT: '0', WORKER_METRICS_PORT: '0', METRICS_HOST: '127.0.0.1', ...env, LOG_LEVEL: env.LOG_LEVEL === 'debug' ? 'debug' : 'info' },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const readyMessage = new Promise<Record<string, unknown>>((resolve) => {
    child.on('message', (m: Record<string, unknown>) => m?.ready && resolve(m));
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
    async ready(timeoutMs = 45_000) {
      let timer: NodeJS.Timeout | undefined;
      const failed = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${script} was not ready within ${timeoutMs} ms; last lines:\n${tail()}`)), timeoutMs);
        exited.then((code) => reject(new Error(`${script} exited (${code}) before it was ready; last lines:\n${tail()}`)));
      });
      failed.catch(() => {}); // once ready, a later exit is no failure to start
      try {
        return await Promise.race([readyMessage, failed]);
      } catch (err) {
        // Never leave a process that failed to start behind: no stop() is coming for it.
        child.kill('SIGKILL');
        await exited;
        throw err;
      } finally {
        clearTimeout(timer);
      }
    },
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode ?? child.signalCode!;
      child.kill(signal);
      return exited;
    },
  };
}

export async function startWorker(env: Record<string, string>, extra: Record<string, string> = {}): Promise<Proc & { metricsPort: number | null }> {
  const p = startProcess('workers/predict.ts', { ...env, ...extra });
  // The worker names its metrics/probe port (WORKER_METRICS_PORT, 0 here: a free one) when ready; null with METRICS_ENABLED=false.
  const { metricsPort } = await p.ready();
  return Object.assign(p, { metricsPort: typeof metricsPort === 'number' ? metricsPort : null });
}

export async function startApi(env: Record<string, string>, extra: Record<string, string> = {}): Promise<Proc & { url: string; metricsPort: number | null }> {
  // PORT 0: the api listens on a free port and names it in its readiness message (no race for a port).
  const p = startProcess('src/server.ts', { ...env, PORT: '0', HOST: '127.0.0.1', ...extra });
  const { port, metricsPort } = await p.ready();
  return Object.assign(p, { url: `http://127.0.0.1:${port}`, metricsPort: typeof metricsPort === 'number' ? metricsPort : null });
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
