import { modelLabels, series } from './series.js';

/** What a worker's chunk processor tells the metrics, bound to the queue it consumes (chunkWorkers.ts). */
export interface ChunkRecorder {
  /** A stage timed on the main thread, once per BullMQ job (a chunk, or a group of small jobs' chunks). */
  stage(stage: 'load' | 'commit', seconds: number): void;
  /** Chunks whose results were committed by this process: rows scored, and done (or failed: the whole chunk got errors). */
  committed(chunks: { succeeded: number; failed: number; chunkFailed: boolean; model: string | null; version: number | null }[]): void;
  /** A BullMQ attempt of `chunks` chunks failed: retried when attempts are left, else failed. */
  attemptFailed(chunks: number, willRetry: boolean): void;
}

export function chunkRecorder(queue: string): ChunkRecorder {
  return {
    stage(stage, seconds) {
      series.stageDuration.observe({ stage, queue }, seconds);
    },
    committed(chunks) {
      if (!series.enabled) return;
      let done = 0;
      let failed = 0;
      for (const c of chunks) {
        const labels = modelLabels(c.model, c.version);
        if (c.succeeded) series.rowsScored.inc({ outcome: 'ok', ...labels }, c.succeeded);
        if (c.failed) series.rowsScored.inc({ outcome: 'error', ...labels }, c.failed);
        if (c.chunkFailed) failed++;
        else done++;
      }
      if (done) series.chunksProcessed.inc({ queue, outcome: 'done' }, done);
      if (failed) series.chunksProcessed.inc({ queue, outcome: 'failed' }, failed);
    },
    attemptFailed(chunks, willRetry) {
      series.chunksProcessed.inc({ queue, outcome: willRetry ? 'retried' : 'failed' }, chunks);
    },
  };
}
