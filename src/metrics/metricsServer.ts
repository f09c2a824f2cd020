import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { beforeScrape, scrape, series } from './series.js';

// The process's own small listener for Prometheus (and, on a worker, its probes): never the
// public port, so a load balancer in front of the api cannot expose it by accident. Plain
// node:http: three fixed paths need no framework.

/** What /readyz checks: each check resolves when fine and throws (its message is shown) when not. */
export type ReadinessChecks = Record<string, () => Promise<unknown>>;

export interface ReadinessReport {
  status: 'ready' | 'unavailable' | 'stopping';
  checks: Record<string, string>;
}

/** Past this a check counts as failed: a probe must answer in time, whatever hangs behind it. */
const CHECK_TIMEOUT_MS = 2000;

export interface MetricsServerOptions {
  host: string;
  port: number;
  /** Worker: /healthz (the process answers) and /readyz (these checks). Api: none (its public port has both). */
  readiness?: ReadinessChecks;
}

export interface MetricsServer {
  port: number;
  server: Server;
  /** /readyz answers 503 `stopping` from now on, and sluice_ready reads 0 (SIGTERM). */
  stopping(): void;
  /** Runs the readiness checks (what /readyz answers) and sets sluice_ready from them. */
  ready(): Promise<ReadinessReport>;
  close(): Promise<void>;
}

export async function runReadiness(checks: ReadinessChecks): Promise<ReadinessReport> {
  const out: Record<string, string> = {};
  await Promise.all(Object.entries(checks).map(async ([name, check]) => {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([check(), new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS)))]);
      out[name] = 'ok';
    } catch (err) {
      out[name] = (err as Error)?.message || 'failed';
    } finally {
      clearTimeout(timer);
    }
  }));
  return { status: Object.values(out).every((v) => v === 'ok') ? 'ready' : 'unavailable', checks: out };
}

export async function startMetricsServer(opts: MetricsServerOptions): Promise<MetricsServer> {
  let isStopping = false;
  const ready = async (): Promise<ReadinessReport> => {
    const report = isStopping ? { status: 'stopping' as const, checks: {} } : await runReadiness(opts.readiness ?? {});
    series.ready.set(report.status === 'ready' ? 1 : 0);
    return report;
  };
  // A scrape checks too, so sluice_ready is current where nothing polls /readyz (Prometheus alone).
  if (opts.readiness) beforeScrape(() => ready().then(() => {}));
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
      res.end(JSON.stringify(body));
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return json(405, { error: 'method not allowed' });
    if (path === '/metrics') {
      scrape().then(
        ({ contentType, body }) => {
          res.writeHead(200, { 'Content-Type': contentType, 'Cache-Control': 'no-store' });
          res.end(body);
        },
        (err: Error) => json(500, { error: err.message }),
      );
      return;
    }
    if (opts.readiness && path === '/healthz') return json(200, { status: 'ok' });
    if (opts.readiness && path === '/readyz') {
      ready().then((r) => json(r.status === 'ready' ? 200 : 503, r), (err: Error) => json(503, { status: 'unavailable', error: err.message }));
      return;
    }
    json(404, { error: 'not found', paths: opts.readiness ? ['/metrics', '/healthz', '/readyz'] : ['/metrics'] });
  });
  // Probes and scrapes are short; an idle keep-alive connection must not hold a shutdown up.
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => (server.off('error', reject), resolve()));
  });
  return {
    port: (server.address() as AddressInfo).port,
    server,
    stopping() {
      isStopping = true;
      series.ready.set(0);
    },
    ready,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
