import { pino } from 'pino';
import { loadConfig } from '../../src/config.js';
import { startPredictWorker, type PredictWorker } from '../../src/worker/startPredictWorker.js';

const open = new Set<PredictWorker>();

export interface InProcessWorker extends PredictWorker {
  /** Its log lines (pino JSON, info and up), for failure messages and tests about them. */
  logs: Record<string, unknown>[];
}

/**
 * A worker in this process (src/worker/startPredictWorker.ts), resolved once it takes work: for
 * tests where no signal is involved. Kill, shutdown and crash tests start real processes
 * (processes.ts). `env` is a TestEnv's `env`; `extra` overrides it, as for startWorker.
 */
export async function startWorkerInProcess(env: Record<string, string>, extra: Record<string, string> = {}): Promise<InProcessWorker> {
  const merged = { ...env, ...extra };
  const config = loadConfig(merged);
  const logs: Record<string, unknown>[] = [];
  const log = pino({ name: 'worker', level: merged.LOG_LEVEL === 'debug' ? 'debug' : 'info' }, {
    write(line: string) {
      logs.push(JSON.parse(line));
      if (process.env.SLUICE_TEST_VERBOSE) process.stderr.write(`[in-process worker] ${line}`);
    },
  });
  const worker = await startPredictWorker(config, { log });
  open.add(worker);
  const close = worker.close;
  return Object.assign(worker, { logs, close: () => (open.delete(worker), close()) });
}

/** Closes every in-process worker still open (afterAll safety net, as killAll is for processes). */
export async function closeWorkersInProcess(): Promise<void> {
  await Promise.all([...open].map((w) => w.close()));
}
