import { startApi } from './api.js';
import { loadConfig } from './config.js';
import { announceReady, onShutdownSignals } from './lifecycle.js';
import { createLogger } from './log.js';

// The api process (src/api.ts). SIGTERM: drain (see RunningApi.close) and exit 0.
const config = loadConfig(process.env);
const api = await startApi(config).catch((err: Error) => {
  createLogger(config, 'api').fatal(err.message);
  process.exit(1);
});
onShutdownSignals(api, { log: api.log });
announceReady({ port: api.port });
