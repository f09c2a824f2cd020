import { loadConfig } from '../src/config.js';
import { announceReady, onShutdownSignals } from '../src/lifecycle.js';
import { createLogger } from '../src/log.js';
import { closingTracing, startTracing } from '../src/tracing/setup.js';
import { startPredictWorker } from '../src/worker/startPredictWorker.js';

// A worker process (src/worker/startPredictWorker.ts). SIGTERM: finish chunks in hand and exit 0;
// past SHUTDOWN_GRACE_MS exit 1 instead: chunks still in hand are re-offered by the stalled check
// and scored elsewhere.
const config = loadConfig();
// First: the queues and the logger ask whether tracing is on when they are made.
const tracing = await startTracing(config, 'worker');
const log = createLogger(config, 'worker');
const worker = await startPredictWorker(config, { log }).catch((err: Error) => {
  log.fatal(err.message);
  process.exit(1);
});
onShutdownSignals(closingTracing(worker, tracing), { log, exitAfter: { ms: config.worker.shutdownGraceMs, message: 'grace period over; exiting with work in hand (it will be redelivered)' } });
// A bug that escapes every handler still ends the process (its state is unknown), but as a logged
// fatal error and exit 1: the inference threads first release their onnxruntime sessions (for at
// most 2 s), since a thread torn down holding one aborts the process natively instead.
process.on('uncaughtException', (err) => {
  log.fatal({ err }, 'uncaught error; exiting (chunks in hand will be redelivered)');
  setTimeout(() => process.exit(1), 2000);
  void worker.abandon().finally(() => process.exit(1));
});
announceReady({ metricsPort: worker.metricsPort });
