import os from 'node:os';
import type { Config } from '../config.js';
import { createBatcher } from '../inference/batcher.js';
import { createInferencePool } from '../inference/pool.js';
import type { InferenceResult, InferenceTask, Part, PartResult } from '../inference/thread.js';
import { series } from '../metrics/series.js';
import { QUEUES } from '../queue/queues.js';

/** What an evaluation or compare job asks of its chunks beyond scoring (batch chunks only). */
export interface ScoreExtras {
  labelColumn?: string;
  compare?: WorkerModel;
}
import type { Logger } from '../log.js';
import type { WorkerModel } from './models.js';

export interface Scoring {
  threads: number;
  /** Inference threads alive now (readiness). */
  alive(): number;
  /** One part straight to the thread pool (batch chunks: already large). */
  score(model: WorkerModel, part: Part, extras?: ScoreExtras): Promise<PartResult>;
  /** One part through the dynamic batcher (small jobs: scored together with others of the same model version). */
  scoreBatched(model: WorkerModel, part: Part, extras?: ScoreExtras): Promise<PartResult>;
  /** Releases the inference threads (each lets go of its onnxruntime sessions). */
  close(): Promise<void>;
}

/** The worker's inference threads, and the batcher that gathers small jobs' parts for them. */
export function createScoring(config: Config, log: Logger): Scoring {
  const threads = config.worker.inferenceThreads ?? os.availableParallelism();
  const inference = createInferencePool({ threads, memoryLimitMb: config.worker.modelMemoryLimitMb, inlineMaxMs: config.worker.inlineInferenceMaxMs });
  let warnedFallback = false;
  const taskFor = (model: WorkerModel, parts: Part[], extras: ScoreExtras = {}): InferenceTask => ({
    modelPath: model.modelPath, modelKey: model.modelKey, plan: model.plan, signature: model.signature,
    executionProvider: config.worker.executionProvider, intraOpThreads: config.worker.intraOpThreads, batchSize: config.worker.inferenceBatchSize, parts,
    ...(extras.labelColumn !== undefined ? { labelColumn: extras.labelColumn } : {}),
    ...(extras.compare ? { compare: { modelPath: extras.compare.modelPath, modelKey: extras.compare.modelKey, plan: extras.compare.plan, signature: extras.compare.signature } } : {}),
  });
  series.threads.set(threads);
  let inFlight = 0;
  const busy = (d: number) => series.threadsBusy.set(Math.min(threads, (inFlight += d)));
  const runTask = async (task: InferenceTask, queue: string) => {
    busy(1);
    let r: InferenceResult;
    try {
      r = await inference.run(task);
    } finally {
      busy(-1);
    }
    if (r.timing && series.enabled) {
      const t = r.timing;
      series.stageDuration.observe({ stage: 'parse_preprocess', queue }, t.parseMs / 1000);
      series.stageDuration.observe({ stage: 'inference', queue }, t.inferenceMs / 1000);
      series.stageDuration.observe({ stage: 'encode', queue }, t.encodeMs / 1000);
      for (const n of t.runs) series.batchRows.observe(n);
    }
    if (r.fellBack && !warnedFallback) {
      warnedFallback = true;
      log.warn('EXECUTION_PROVIDER=cuda but CUDA could not be used here; running on CPU');
    }
    return r;
  };
  // A batch holds parts of one model version (batches are keyed by modelKey): its first item's model runs them all.
  const batcher = createBatcher<{ model: WorkerModel; part: Part; rowCount: number }, PartResult>({
    maxRows: config.worker.batchMaxRows,
    maxDelayMs: config.worker.batchMaxDelayMs,
    run: async (_modelKey, items) => (await runTask(taskFor(items[0].model, items.map((i) => i.part)), QUEUES.interactive)).parts,
  });
  return {
    threads,
    alive: () => inference.alive,
    score: async (model, part, extras) => (await runTask(taskFor(model, [part], extras), QUEUES.predict)).parts[0],
    // Evaluation and compare jobs are uploads, which never come through the batcher; one that did would run alone.
    scoreBatched: (model, part, extras) =>
      extras?.labelColumn !== undefined || extras?.compare ? runTask(taskFor(model, [part], extras), QUEUES.interactive).then((r) => r.parts[0]) : batcher.submit(model.modelKey, { model, part, rowCount: part.rowCount }),
    close: () => inference.close(),
  };
}
