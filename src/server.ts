import { createServer, type ServerResponse } from 'node:http';
import { loadConfig } from './config.js';
import { buildApi } from './api.js';
import { serverOptions } from './http/server-options.js';
import { uploadsSettled } from './jobs/intake.js';

const config = loadConfig(process.env);
const api = await buildApi(config);
const server = createServer(serverOptions(config), api.app);
server.listen(config.port, config.host, () => api.log.info({ port: config.port }, 'sluice api listening'));

// Responses in progress, so a shutdown can tell their clients not to reuse the connection.
const open = new Set<ServerResponse>();
let stopping = false;
server.on('request', (_req, res: ServerResponse) => {
  if (stopping) res.setHeader('Connection', 'close');
  open.add(res);
  res.on('close', () => open.delete(res));
});

// SIGTERM: stop accepting connections; requests in flight finish (an upload in progress is stored
// whole and answered 202). Past SHUTDOWN_GRACE_MS the remaining connections are cut: an upload cut
// off ends `failed` (upload_aborted) with its chunks removed. Only then are Postgres and Redis
// closed (the lookup caches' LISTEN connection first), and the process exits 0.
const stop = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  api.log.info({ signal, graceMs: config.worker.shutdownGraceMs, inFlight: open.size }, 'stopping: no new connections, finishing requests in flight');
  for (const res of open) if (!res.headersSent) res.setHeader('Connection', 'close');
  const timer = setTimeout(() => {
    api.log.warn({ inFlight: open.size }, 'grace period over; closing the connections still open');
    server.closeAllConnections();
  }, config.worker.shutdownGraceMs).unref();
  server.close(async () => {
    clearTimeout(timer);
    await uploadsSettled();
    await api.close();
    api.log.info('stopped');
    process.exit(0);
  });
  server.closeIdleConnections();
};
process.on('SIGTERM', () => void stop('SIGTERM'));
process.on('SIGINT', () => void stop('SIGINT'));
