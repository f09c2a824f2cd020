import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

// Debian's nginx in front of our api processes, configured from deploy/nginx exactly as the
// official image configures itself: 15-sluice-env.envsh turns Sluice's settings into the
// template's values, and only those ${SLUICE_*} names are substituted (envsubst with a variable
// list), so nginx's own $variables pass through. Around it, deploy/nginx/local/nginx.conf.template
// keeps pid, logs and temporary files in a directory of its own: any user, any free port.
// Shared by test/deploy/nginx.test.ts and scripts/bench/scaleOut.ts.

const ROOT = path.resolve(import.meta.dirname, '../..');
const DEPLOY = path.join(ROOT, 'deploy/nginx');
export const NGINX_BIN = process.env.NGINX_BIN ?? '/usr/sbin/nginx';

export interface NginxOptions {
  /** host:port of each api. */
  apis: string[];
  /** Port to listen on (127.0.0.1). */
  port: number;
  /** Sluice settings the envsh reads (MAX_UPLOAD_BYTES, SSE_HEARTBEAT_MS, MAX_WAIT_SECONDS), and SLUICE_* overrides. */
  env?: Record<string, string>;
  workers?: number;
}

export interface Nginx {
  url: string;
  dir: string;
  /** The rendered server configuration (conf.d/default.conf). */
  conf: string;
  /** Access log records (the `sluice` JSON format) written so far. */
  accessLog(): Record<string, unknown>[];
  errorLog(): string;
  /** Files nginx has spooled under temp/ (request or response bodies): none when it streams. */
  tempFiles(): string[];
  stop(): Promise<void>;
}

/** `${NAME}` → vars[NAME] for the names given, as `envsubst '$A $B'` does; anything else is left as written. */
export function substitute(template: string, vars: Record<string, string>): string {
  return template.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (whole, name: string) => (name in vars ? vars[name] : whole));
}

/** The SLUICE_* values 15-sluice-env.envsh exports for this environment (run by /bin/sh, as the image's entrypoint does). */
export function envshValues(env: Record<string, string>): Record<string, string> {
  const out = spawnSync('/bin/sh', ['-c', '. "$0" && env', path.join(DEPLOY, '15-sluice-env.envsh')], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, encoding: 'utf8' });
  if (out.status !== 0) throw new Error(`15-sluice-env.envsh failed: ${out.stderr}`);
  return Object.fromEntries(out.stdout.split('\n').filter((l) => l.startsWith('SLUICE_')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}

/** Renders the configuration into a fresh directory and returns its paths. */
export function renderNginx(opts: NginxOptions): { dir: string; conf: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-nginx-'));
  for (const d of ['conf.d', 'temp']) mkdirSync(path.join(dir, d));
  const values = envshValues({
    SLUICE_APIS: opts.apis.join(' '),
    SLUICE_API_FAIL_TIMEOUT: '1s',
    SLUICE_LISTEN: `127.0.0.1:${opts.port}`,
    SLUICE_ACCESS_LOG: path.join(dir, 'access.log'),
    ...opts.env,
  });
  const user = os.userInfo().username;
  const main = substitute(readFileSync(path.join(DEPLOY, 'local/nginx.conf.template'), 'utf8'), {
    SLUICE_NGINX_DIR: dir, SLUICE_NGINX_USER: user, SLUICE_NGINX_WORKERS: String(opts.workers ?? 1),
  });
  const conf = substitute(readFileSync(path.join(DEPLOY, 'templates/default.conf.template'), 'utf8'), values);
  const left = /\$\{([A-Z_]+)\}/.exec(main + conf);
  if (left) throw new Error(`nginx template variable ${left[1]} has no value`);
  writeFileSync(path.join(dir, 'nginx.conf'), main);
  writeFileSync(path.join(dir, 'conf.d/default.conf'), conf);
  return { dir, conf };
}

/**
 * Starts nginx in the foreground as a child of this process. Ready when its own /nginx-health
 * answers (nginx has no readiness message to send; a configuration error ends it first, with
 * its error log in the message).
 */
export async function startNginx(opts: NginxOptions): Promise<Nginx> {
  const { dir, conf } = renderNginx(opts);
  const args = ['-p', dir, '-c', path.join(dir, 'nginx.conf'), '-e', path.join(dir, 'error.log'), '-g', 'daemon off;'];
  const test = spawnSync(NGINX_BIN, [...args.slice(0, -2), '-t'], { encoding: 'utf8' });
  if (test.status !== 0) throw new Error(`nginx -t refused the configuration:\n${test.stderr}`);
  const child: ChildProcess = spawn(NGINX_BIN, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  const exited = once(child, 'exit');
  // A test run that dies without its afterAll must not leave nginx holding the port.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  let gone = false;
  void exited.then(() => (gone = true));
  const url = `http://127.0.0.1:${opts.port}`;
  const errorLog = () => {
    try {
      return readFileSync(path.join(dir, 'error.log'), 'utf8');
    } catch {
      return '';
    }
  };
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (gone) throw new Error(`nginx exited at start:\n${stderr}\n${errorLog()}`);
    const ok = await fetch(`${url}/nginx-health`).then((r) => r.ok, () => false);
    if (ok) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`nginx did not answer on ${url} within 10 s:\n${errorLog()}`);
    }
    await sleep(20); // polling a port that is not open yet: nothing to wait on but time
  }
  const walk = (d: string): string[] => readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : [path.join(d, e.name)]));
  return {
    url,
    dir,
    conf,
    accessLog: () => {
      let text = '';
      try {
        text = readFileSync(path.join(dir, 'access.log'), 'utf8');
      } catch {
        return [];
      }
      return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    },
    errorLog,
    tempFiles: () => walk(path.join(dir, 'temp')),
    async stop() {
      // SIGQUIT: graceful (finish requests, then exit); SIGKILL if it does not within 5 s.
      if (!gone) {
        child.kill('SIGQUIT');
        const t = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(t);
      }
      process.off('exit', killOnExit);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
