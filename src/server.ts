import { startApi } from './api.js';
import { loadConfig } from './config.js';
import { announceReady, onShutdownSignals } from './lifecycle.js';
import { createLogger } from './log.js';
import { closingTracing, startTracing } from './tracing/setup.js';

// The api process (src/api.ts). SIGTERM: drain (see RunningApi.close) and exit 0.
const config = loadConfig();
// First: the queues and the logger ask whether tracing is on when they are made.
const tracing = await startTracing(config, 'api');
const api = await startApi(config).catch((err: Error) => {
  createLogger(config, 'api').fatal(err.message);
  process.exit(1);
});
onShutdownSignals(closingTracing(api, tracing), { log: api.log });
announceReady({ port: api.port, metricsPort: api.metricsPort });
