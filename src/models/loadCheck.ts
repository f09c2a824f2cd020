// Loads a model in onnxruntime inside a worker thread with a deadline: a malformed or hostile
// model can hang or throw in native code while loading, and the caller must survive both.
import { Worker } from 'node:worker_threads';
import { scrubOrtMessage } from '../inference/ortMessage.js';
import { threadExecArgv } from '../inference/threadArgv.js';
import { InvalidModelError } from './onnx.js';

export interface LoadCheckResult {
  inputNames: string[];
  outputNames: string[];
}

type ThreadReply = { ok: true; inputNames: string[]; outputNames: string[] } | { ok: false; message: string };

const THREAD = new URL('./loadCheckThread.mjs', import.meta.url);

function startThread(bytes: Uint8Array): Worker {
  // The thread is plain JavaScript: it takes none of the process's loaders (`--import tsx`).
  return new Worker(THREAD, { workerData: { bytes }, transferList: [bytes.buffer as ArrayBuffer], execArgv: threadExecArgv(process.execArgv) });
}

export function loadCheck(bytes: Uint8Array, opts: { timeoutMs: number }): Promise<LoadCheckResult> {
  return new Promise((resolve, reject) => {
    // A copy, so transferring it to the thread leaves the caller's buffer intact. Not
    // bytes.slice(): on a Buffer that is a view of the same memory.
    const worker = startThread(new Uint8Array(bytes));
    let settled = false;
    // Only a thread past its deadline is terminated: one that answered ends by itself (see the thread).
    const finish = (fn: () => void, terminate = false) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      fn();
      if (terminate) void worker.terminate();
    };
    const timer = setTimeout(
      () => finish(() => reject(new InvalidModelError(`loading took longer than ${opts.timeoutMs} ms`)), true),
      opts.timeoutMs,
    );
    worker.once('message', (m: ThreadReply) =>
      finish(() =>
        m.ok
          ? resolve({ inputNames: m.inputNames, outputNames: m.outputNames })
          : // onnxruntime quotes paths of this host (its working directory, its own sources): never sent back.
            reject(new InvalidModelError(scrubOrtMessage(m.message, { [process.cwd()]: '.' }))),
      ),
    );
    // onnxruntime's own failures arrive as messages; an 'error' event means the thread itself broke (a server fault, not the model's).
    worker.once('error', (err) => finish(() => reject(new Error(`the model check thread failed: ${err.message}`, { cause: err }))));
    worker.once('exit', (code) => finish(() => reject(new InvalidModelError(`the loading thread stopped unexpectedly (exit code ${code})`))));
  });
}
