import { createServer } from 'node:http';
import { loadConfig } from './config.js';
import { buildApi } from './api.js';

const config = loadConfig(process.env);
const api = await buildApi(config);
const server = createServer({ headersTimeout: 30_000, requestTimeout: 0 }, api.app);
server.listen(config.port, config.host, () => api.log.info({ port: config.port }, 'sluice api listening'));

let stopping = false;
const stop = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  api.log.info({ signal }, 'stopping: no new connections, finishing requests in flight');
  const timer = setTimeout(() => server.closeAllConnections(), config.worker.shutdownGraceMs).unref();
  server.close(async () => {
    clearTimeout(timer);
    await api.close();
    process.exit(0);
  });
  server.closeIdleConnections();
};
process.on('SIGTERM', () => void stop('SIGTERM'));
process.on('SIGINT', () => void stop('SIGINT'));
