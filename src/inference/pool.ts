// The worker-thread pool that runs inference off the main thread (see thread.ts for why).
import * as esbuild from 'esbuild';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { threadExecArgv } from './thread-argv.js';
import { InferenceError } from '../errors.js';
import type { InferenceResult, InferenceTask, ThreadReply } from './thread.js';

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
const THREAD = fileURLToPath(new URL('./thread.ts', import.meta.url));

let threadCode: string | undefined;

/**
 * thread.ts and the modules of src/ it imports as one CommonJS source, built once per process and
 * run by every thread (thread-entry.mjs). Packages stay outside (`require`d by the thread);
 * `import('onnxruntime-node')` becomes a require, since the code runs as a function, not a module.
 */
export function threadSource(): string {
  if (threadCode !== undefined) return threadCode;
  try {
    const out = esbuild.buildSync({
      entryPoints: [THREAD],
      bundle: true,
      write: false,
      platform: 'node',
      format: 'cjs',
      target: `node${process.versions.node}`,
      packages: 'external',
      supported: { 'dynamic-import': false },
      keepNames: true,
      logLevel: 'silent',
    });
    threadCode = out.outputFiles[0].text;
  } finally {
    // The sync API ran esbuild's service on a thread of its own: end it (and its process) now.
    void esbuild.stop();
  }
  return threadCode;
}

/**
 * Each thread's V8 young generation, in MB (two semi-spaces and room for young large objects,
 * a third each). V8's default grows a busy thread's new space to 32 MB, nearly all of it resident;
 * a thread now holds about one batch of rows at a time (thread.ts), so 16 MB of new space (8 MB
 * semi-spaces) is enough: about 16 MB less per thread for a few percent more GC time. Smaller
 * spaces cost more: survivors get promoted and old-space collections multiply.
 */
const THREAD_YOUNG_GENERATION_MB = 24;

export function createInferencePool(opts: InferencePoolOptions = {}): InferencePool {
  const threads = Math.max(1, Math.floor(opts.threads ?? availableParallelism()));
  const piscina = new Piscina<InferenceTask, ThreadReply>({
    filename: ENTRY,
    workerData: { code: threadSource(), filename: `${THREAD}.bundle.cjs`, resolveFrom: THREAD },
    execArgv: threadExecArgv(process.execArgv),
    minThreads: threads,
    maxThreads: threads,
    // Threads hold the session caches; one that exits when idle throws its loaded models away.
    idleTimeout: Infinity,
    concurrentTasksPerWorker: 1,
    resourceLimits: { maxYoungGenerationSizeMb: THREAD_YOUNG_GENERATION_MB },
  });
  return {
    threads,
    // Payloads are not transferred: the caller keeps them to retry a failed task. Loaded chunks sit
    // in shared memory (loadChunk.ts), so they cross without a copy; the result buffers coming back
    // are transferred (thread.ts moves them).
    async run(task) {
      const reply = await piscina.run(task);
      if (!reply.ok) throw new InferenceError(reply.error.message, reply.error.stage);
      return reply.result;
    },
    async close() {
      // Each thread frees its sessions before piscina ends it (see releaseSessions in thread.ts):
      // one task per thread, since a thread takes one task at a time.
      await Promise.allSettled(Array.from({ length: threads }, () => piscina.run(null as never, { name: 'releaseSessions' }) /* the handler takes no task */));
      await piscina.close();
    },
  };
}
