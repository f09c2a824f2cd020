// Runs inside a worker thread started by loadCheck.ts: loads the model in onnxruntime and
// reports its input/output names, so a model that hangs or throws while loading stays contained.
// Plain JavaScript, so the thread starts without TypeScript tooling (as the inference threads do).
import { parentPort, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';

const { bytes } = workerData;
try {
  const session = await ort.InferenceSession.create(bytes);
  const names = { inputNames: [...session.inputNames], outputNames: [...session.outputNames] };
  // Released before answering: the thread then ends by itself with nothing native in flight.
  // (Terminated from outside mid-release, onnxruntime can throw where nothing catches it, and
  // that aborts the whole process.)
  await session.release();
  parentPort.postMessage({ ok: true, ...names });
} catch (err) {
  parentPort.postMessage({ ok: false, message: err instanceof Error ? err.message : String(err) });
}
