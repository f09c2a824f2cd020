import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import path from 'node:path';
import readline from 'node:readline';

const ROOT = path.resolve(import.meta.dirname, '../..');
const TSX = path.join(ROOT, 'node_modules/.bin/tsx');

export async function freePort(): Promise<number> {
  const srv = net.createServer().listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const port = (srv.address() as net.AddressInfo).port;
  srv.close();
  return port;
}

export interface Proc {
  child: ChildProcess;
  /** Resolves with the first log line (pino JSON) whose msg matches. */
  waitForLog(match: RegExp, timeoutMs?: number): Promise<Record<string, unknown>>;
  logs: Record<string, unknown>[];
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts a real process of ours (api or worker) from TypeScript sources, logging JSON at info. */
export function startProcess(script: string, env: Record<string, string>): Proc {
  const child = spawn(TSX, [path.join(ROOT, script)], {
    cwd: ROOT,
    env: { ...process.env, ...env, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
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
    if (process.env.SLUICE_TEST_VERBOSE) process.stderr.write(`[${script}] ${line}\n`);
    for (const w of [...watchers]) if (w.re.test(String(rec.msg))) {
      watchers.splice(watchers.indexOf(w), 1);
      w.resolve(rec);
    }
  };
  readline.createInterface({ input: child.stdout! }).on('line', onLine);
  readline.createInterface({ input: child.stderr! }).on('line', onLine);
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  return {
    child,
    logs,
    waitForLog(re, timeoutMs = 30_000) {
      const seen = logs.find((l) => re.test(String(l.msg)));
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`${script} did not log ${re} within ${timeoutMs} ms; last lines:\n${logs.slice(-10).map((l) => JSON.stringify(l)).join('\n')}`)), timeoutMs);
        exited.then((code) => {
          clearTimeout(t);
          reject(new Error(`${script} exited (${code}) before logging ${re}; last lines:\n${logs.slice(-10).map((l) => JSON.stringify(l)).join('\n')}`));
        });
        watchers.push({ re, resolve: (l) => (clearTimeout(t), resolve(l)) });
      });
    },
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      return exited;
    },
  };
}

export async function startWorker(env: Record<string, string>, extra: Record<string, string> = {}): Promise<Proc> {
  const p = startProcess('workers/predict.ts', { ...env, ...extra });
  await p.waitForLog(/sluice worker started/);
  return p;
}

export async function startApi(env: Record<string, string>, extra: Record<string, string> = {}): Promise<Proc & { url: string }> {
  const port = await freePort();
  const p = startProcess('src/server.ts', { ...env, PORT: String(port), HOST: '127.0.0.1', ...extra });
  await p.waitForLog(/sluice api listening/);
  return Object.assign(p, { url: `http://127.0.0.1:${port}` });
}
