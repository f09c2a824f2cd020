// The worker-thread pool that runs inference off the main thread (see thread.ts for why).
import * as esbuild from 'esbuild';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { threadExecArgv } from './threadArgv.js';
import { DEFAULT_MODEL_MEMORY_LIMIT_MB } from '../config.js';
import { InferenceError } from '../errors.js';
import type { InferenceResult, InferenceTask, TaskTiming, ThreadReply } from './thread.js';

export interface InferencePoolOptions {
  /** Worker threads; default: one per core. Each runs one task at a time with its own session cache. */
  threads?: number;
  /** MODEL_MEMORY_LIMIT_MB: how far a task may grow the process's resident memory (see MemoryGuard). */
  memoryLimitMb?: number;
  /** INLINE_INFERENCE_MAX_MS: a small task expected to take less runs on the calling thread (see InlineRuns); 0: never. */
  inlineMaxMs?: number;
}

/**
 * A model needed more memory than MODEL_MEMORY_LIMIT_MB allows on this input. `unhealthy`: the
 * model is blamed for certain (it ran alone, or was caught again) and this pool refuses its tasks
 * from now on, so its chunks fail at once instead of being retried.
 */
export class ModelMemoryError extends InferenceError {
  override name = 'ModelMemoryError';
  readonly code = 'model_memory_exceeded' as const;
  constructor(message: string, readonly unhealthy: boolean) {
    super(message, 'run');
  }
}

export interface InferencePool {
  /** Rejects with InferenceError when the task as a whole could not run. */
  run(task: InferenceTask): Promise<InferenceResult>;
  close(): Promise<void>;
  readonly threads: number;
  /** Threads alive now (piscina replaces one that died; fewer than `threads` while it does, 0 once closed): the worker's readiness. */
  readonly alive: number;
}

const ENTRY = fileURLToPath(new URL('./threadEntry.mjs', import.meta.url));
const THREAD = fileURLToPath(new URL('./thread.ts', import.meta.url));

let threadCode: string | undefined;

/**
 * thread.ts and the modules of src/ it imports as one CommonJS source, built once per process and
 * run by every thread (threadEntry.mjs). Packages stay outside (`require`d by the thread);
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

const MB = 1024 * 1024;
/** How often the process's RSS is read while tasks run: one read is a few µs (/proc/self/stat). */
const MEMORY_SAMPLE_MS = 20;
/** Models refused at once (tasks of these keys fail without running); older entries are forgotten. */
const UNHEALTHY_MODELS_KEPT = 1024;

interface Running {
  modelKey: string;
  startRss: number;
  /** Largest growth seen over startRss, in bytes, once it passed the limit. */
  over: number;
  /** Whether this was the only task in flight when the limit was passed: then it alone is to blame. */
  alone: boolean;
  /** The spike it was caught in: tasks caught together share one, so a model with several tasks in one spike gets one strike. */
  episode: number;
}

/**
 * What bounds a tenant's model's memory, and how hard each bound is (issue 12 item 1):
 *  - HARD, per session: onnxruntime's CPU arena is off (thread.ts `enableCpuMemArena: false`), so
 *    the memory of a run is returned when the run ends instead of being kept by the arena for the
 *    session's lifetime (a 2 GB intermediate used to stay resident). Large blocks are mmap'ed by
 *    malloc and unmapped on free; many small freed blocks may stay in malloc's free lists.
 *  - HARD, per thread, JS heap only: piscina `resourceLimits.maxOldGenerationSizeMb` = the limit;
 *    a thread past it is ended by V8 and its task fails with model_memory_exceeded.
 *  - HEURISTIC, per task: the native peak of a run is NOT bounded. onnxruntime-node 1.30 has no
 *    memory cap for the CPU provider (no OrtArenaCfg max_mem, no session config key for it; only
 *    CUDA has gpu_mem_limit), and a thread stuck in native run() cannot be interrupted (terminating
 *    it waits for run() to return, and a thread torn down with live sessions can abort the process).
 *    So the main thread samples the process's RSS every MEMORY_SAMPLE_MS while tasks run; a task
 *    during which RSS grew more than the limit over its start is failed with ModelMemoryError when
 *    it returns (its memory is already back: the arena is off). RSS is per process: tasks running
 *    beside the culprit are caught too. A task that was alone is blamed at once (its model becomes
 *    unhealthy here); one that was not gets a strike and is retried; strikes in two separate spikes
 *    with no clean task of the model between them make it unhealthy (a bystander scores cleanly
 *    once the culprit is gone, which clears its strikes). A spike shorter than a sample, or one
 *    bigger than the machine (OOM kill before the task returns), is not caught: only a process
 *    boundary (a cgroup or RLIMIT_DATA per inference process) would bound the peak itself.
 */
class MemoryGuard {
  private readonly running = new Set<Running>();
  /** Per model, the spikes (episodes) its tasks were caught in since its last clean task. */
  private readonly strikes = new Map<string, Set<number>>();
  private episode = 0;
  /** Tasks flagged in the current episode and not yet ended; the episode closes when none is left. */
  private flagged = 0;
  private readonly unhealthy = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly limitMb: number) {}

  /** The refusal for a model already found unhealthy, or undefined. */
  refused(modelKey: string): ModelMemoryError | undefined {
    const message = this.unhealthy.get(modelKey);
    return message === undefined ? undefined : new ModelMemoryError(message, true);
  }

  start(modelKey: string): Running {
    const r: Running = { modelKey, startRss: process.memoryUsage.rss(), over: 0, alone: false, episode: 0 };
    this.running.add(r);
    if (!this.timer) {
      this.timer = setInterval(() => this.sample(), MEMORY_SAMPLE_MS);
      this.timer.unref();
    }
    return r;
  }

  /** Ends the task's watch; returns the error its task fails with when the limit was passed. */
  end(r: Running): ModelMemoryError | undefined {
    this.sample();
    this.running.delete(r);
    if (this.running.size === 0) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
    if (!r.over) {
      this.strikes.delete(r.modelKey);
      return undefined;
    }
    this.flagged--;
    return this.blame(r.modelKey, r.alone, r.over, r.episode);
  }

  /** A thread's JS heap passed its limit (ERR_WORKER_OUT_OF_MEMORY): that thread ran only this task. */
  heapExceeded(modelKey: string): ModelMemoryError {
    return this.blame(modelKey, true, this.limitMb * MB, 0);
  }

  private sample() {
    const rss = process.memoryUsage.rss();
    for (const r of this.running) {
      const growth = rss - r.startRss;
      if (growth <= this.limitMb * MB) continue;
      if (!r.over) {
        r.alone = this.running.size === 1;
        if (this.flagged++ === 0) this.episode++;
        r.episode = this.episode;
      }
      r.over = Math.max(r.over, growth);
    }
  }

  private blame(modelKey: string, alone: boolean, bytes: number, episode: number): ModelMemoryError {
    const strikes = this.strikes.get(modelKey) ?? new Set<number>();
    strikes.add(episode);
    this.strikes.set(modelKey, strikes);
    const message = `the model needed more than the ${this.limitMb} MB of memory a model may use (about ${Math.round(bytes / MB)} MB on this input)`;
    if (!alone && strikes.size < 2) return new ModelMemoryError(message, false);
    this.unhealthy.set(modelKey, `${message}; it is not run again on this worker`);
    if (this.unhealthy.size > UNHEALTHY_MODELS_KEPT) this.unhealthy.delete(this.unhealthy.keys().next().value!);
    this.strikes.delete(modelKey);
    return new ModelMemoryError(this.unhealthy.get(modelKey)!, true);
  }
}

/** A task runs on the calling thread only up to this many rows, however fast its model. */
const INLINE_MAX_ROWS = 64;
/** Tasks of a model a thread runs (and times) before its speed is trusted. */
const INLINE_AFTER_RUNS = 3;
/** Models whose speed is kept; older entries are forgotten (measured again in threads). */
const INLINE_MODELS_KEPT = 256;

const rowsOf = (task: InferenceTask) => task.parts.reduce((n, p) => n + p.rowCount, 0);

/**
 * Which small tasks run on the calling thread instead of an inference thread. The hop to a
 * thread and back (a structured clone each way, two wake-ups) costs more than a few rows of a
 * small model take to score: about 0.8 ms against 0.3 ms on the benchmark machine (docs/benchmarks.md,
 * single items). A task runs here when it has few rows, is plain scoring (no evaluation, no
 * compare, CPU), and its model's time per row, measured on the threads, predicts a run shorter
 * than `maxMs`; onnxruntime's run() holds the thread that calls it, so only such short runs may.
 * Everything else, and every model until its threads have timed it, goes to the threads.
 */
class InlineRuns {
  /** Per model: ms per row of its small tasks on the threads (a 1-row task's fixed cost counts as that row's), and how many were timed. */
  private readonly speed = new Map<string, { msPerRow: number; runs: number }>();
  private runner: Promise<typeof import('./thread.js')> | undefined;

  constructor(private readonly maxMs: number) {}

  eligible(task: InferenceTask): boolean {
    if (this.maxMs <= 0 || task.executionProvider !== 'cpu' || task.compare || task.labelColumn !== undefined) return false;
    const rows = rowsOf(task);
    const s = this.speed.get(task.modelKey);
    return rows <= INLINE_MAX_ROWS && !!s && s.runs >= INLINE_AFTER_RUNS && s.msPerRow * rows < this.maxMs;
  }

  /**
   * A small task's time (parse, run, encode: a thread's hop excluded), wherever it ran. A run here
   * slower than promised counts fully, so the model's next tasks go back to the threads.
   */
  observe(task: InferenceTask, timing: TaskTiming | undefined): void {
    const rows = rowsOf(task);
    if (!timing || rows > INLINE_MAX_ROWS) return;
    const ms = timing.parseMs + timing.inferenceMs + timing.encodeMs;
    const s = this.speed.get(task.modelKey);
    if (!s) {
      if (this.speed.size >= INLINE_MODELS_KEPT) this.speed.delete(this.speed.keys().next().value!);
      this.speed.set(task.modelKey, { msPerRow: ms / rows, runs: 1 });
      return;
    }
    // Slow to trust, quick to doubt: a slower run counts fully, a faster one a quarter.
    s.msPerRow = ms / rows > s.msPerRow ? ms / rows : 0.75 * s.msPerRow + 0.25 * (ms / rows);
    s.runs++;
  }

  /** Runs the task here with thread.ts's own code; its sessions are this thread's, kept as a thread keeps its own. */
  async run(task: InferenceTask): Promise<InferenceResult> {
    const { runInference } = await (this.runner ??= import('./thread.js'));
    return runInference(task);
  }

  async close(): Promise<void> {
    if (this.runner) await (await this.runner).releaseSessions();
  }
}

export function createInferencePool(opts: InferencePoolOptions = {}): InferencePool {
  const threads = Math.max(1, Math.floor(opts.threads ?? availableParallelism()));
  const memoryLimitMb = opts.memoryLimitMb ?? DEFAULT_MODEL_MEMORY_LIMIT_MB;
  const guard = new MemoryGuard(memoryLimitMb);
  const inline = new InlineRuns(opts.inlineMaxMs ?? 0);
  const piscina = new Piscina<InferenceTask, ThreadReply>({
    filename: ENTRY,
    workerData: { code: threadSource(), filename: `${THREAD}.bundle.cjs`, resolveFrom: THREAD },
    execArgv: threadExecArgv(process.execArgv),
    minThreads: threads,
    maxThreads: threads,
    // Threads hold the session caches; one that exits when idle throws its loaded models away.
    idleTimeout: Infinity,
    concurrentTasksPerWorker: 1,
    resourceLimits: { maxYoungGenerationSizeMb: THREAD_YOUNG_GENERATION_MB, maxOldGenerationSizeMb: memoryLimitMb },
  });
  let closed = false;
  return {
    threads,
    get alive() {
      return closed ? 0 : piscina.threads.length;
    },
    // Payloads are not transferred: the caller keeps them to retry a failed task. Loaded chunks sit
    // in shared memory (loadChunk.ts), so they cross without a copy; the result buffers coming back
    // are transferred (thread.ts moves them).
    async run(task) {
      const refused = guard.refused(task.modelKey);
      if (refused) throw refused;
      const watch = guard.start(task.modelKey);
      if (inline.eligible(task)) {
        let result: InferenceResult;
        try {
          result = await inline.run(task);
        } catch (err) {
          // As for a thread's task: the memory verdict comes before the run's own failure.
          throw guard.end(watch) ?? err;
        }
        const exceeded = guard.end(watch);
        if (exceeded) throw exceeded;
        inline.observe(task, result.timing);
        return result;
      }
      let reply: ThreadReply;
      try {
        reply = await piscina.run(task);
      } catch (err) {
        guard.end(watch);
        if ((err as { code?: string }).code === 'ERR_WORKER_OUT_OF_MEMORY') throw guard.heapExceeded(task.modelKey);
        throw err;
      }
      const exceeded = guard.end(watch);
      if (exceeded) throw exceeded;
      if (!reply.ok) throw new InferenceError(reply.error.message, reply.error.stage);
      inline.observe(task, reply.result.timing);
      return reply.result;
    },
    async close() {
      closed = true;
      // Each thread frees its sessions before piscina ends it (see releaseSessions in thread.ts):
      // one task per thread, since a thread takes one task at a time.
      await Promise.allSettled(Array.from({ length: threads }, () => piscina.run(null as never, { name: 'releaseSessions' }) /* the handler takes no task */));
      await piscina.close();
      await inline.close();
    },
  };
}
