// What the two floors share (floorServer.ts, the model in an Express handler; the shape floor's
// api and worker, shapeFloorApi.ts and shapeFloorWorker.ts): the benchmark model scored the
// plainest way, and an Express app listening on a free port that tells the bench it is ready.
import type { Express } from 'express';
import type { Server } from 'node:http';
import * as ort from 'onnxruntime-node';
import { benchModel, COLUMNS, LABELS } from './common.js';

export interface FloorPrediction {
  prediction: string;
  probabilities: Record<string, number>;
}

/** Scores records with the benchmark model in one onnxruntime run: standardised columns in, labels and probabilities out. */
export async function benchScorer(): Promise<(records: Record<string, number>[]) => Promise<FloorPrediction[]>> {
  const { onnx, signature } = benchModel();
  const mean = signature.mean as number[];
  const std = signature.std as number[];
  const session = await ort.InferenceSession.create(onnx, { intraOpNumThreads: 1 });
  return async (records) => {
    const x = new Float32Array(records.length * 20);
    records.forEach((r, i) => COLUMNS.forEach((c, j) => (x[i * 20 + j] = (Number(r[c]) - mean[j]) / std[j])));
    const out = await session.run({ input: new ort.Tensor('float32', x, [records.length, 20]) });
    const p = out.probabilities.data as Float32Array;
    return records.map((_, i) => {
      const s = Array.from(p.subarray(i * 3, i * 3 + 3));
      return { prediction: LABELS[s.indexOf(Math.max(...s))], probabilities: Object.fromEntries(LABELS.map((l, k) => [l, s[k]])) };
    });
  };
}

/** Listens on 127.0.0.1:`port` (0: a free one) and sends `{ ready, port }` to the bench that started this process. */
export function listenForBench(app: Express, port: number): Server {
  const server = app.listen(port, '127.0.0.1', () => {
    process.send?.({ ready: true, port: (server.address() as { port: number }).port });
    process.channel?.unref();
  });
  return server;
}
