// The worker-thread pool that runs inference off the main thread (see thread.ts for why).
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { InferenceError, type InferenceResult, type InferenceTask, type ThreadReply } from './thread.js';

export interface InferencePoolOptions {
  /** Worker threads; default: one per core. Each runs one task at a time with its own session cache. */
  threads?: number;
}

export interface InferencePool {
  /** Rejects with InferenceError when the task as a whole could not run. */
  run(task: InferenceTask): Promise<InferenceResult>;
  close(): Promise<void>;
  readonly threads: number;
}

const ENTRY = fileURLToPath(new URL('./thread-entry.mjs', import.meta.url));

export function createInferencePool(opts: InferencePoolOptions = {}): InferencePool {
  const threads = Math.max(1, Math.floor(opts.threads ?? availableParallelism()));
  const piscina = new Piscina<InferenceTask, ThreadReply>({
    filename: ENTRY,
    minThreads: threads,
    maxThreads: threads,
    // Threads hold the session caches; one that exits when idle throws its loaded models away.
    idleTimeout: Infinity,
    concurrentTasksPerWorker: 1,
  });
  return {
    threads,
    // Payloads are cloned into the thread, not transferred: the caller keeps them to retry a
    // failed task. The COPY buffers coming back are transferred (thread.ts moves them).
    async run(task) {
      const reply = await piscina.run(task);
      if (!reply.ok) throw new InferenceError(reply.error.message, reply.error.stage);
      return reply.result;
    },
    close: () => piscina.close(),
  };
}
