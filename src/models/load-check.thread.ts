// Runs inside a worker thread started by load-check.ts: loads the model in onnxruntime and
// reports its input/output names, so a model that hangs or throws while loading stays contained.
import { parentPort, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';

const { bytes } = workerData as { bytes: Uint8Array };
try {
  const session = await ort.InferenceSession.create(bytes);
  parentPort!.postMessage({ ok: true, inputNames: [...session.inputNames], outputNames: [...session.outputNames] });
  await session.release();
} catch (err) {
  parentPort!.postMessage({ ok: false, message: err instanceof Error ? err.message : String(err) });
}
