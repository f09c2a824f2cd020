// Loads a model in onnxruntime inside a worker thread with a deadline: a malformed or hostile
// model can hang or throw in native code while loading, and the caller must survive both.
import { Worker } from 'node:worker_threads';
import { InvalidModelError } from './onnx.js';

export interface LoadCheckResult {
  inputNames: string[];
  outputNames: string[];
}

type ThreadReply = { ok: true; inputNames: string[]; outputNames: string[] } | { ok: false; message: string };

// Run from TypeScript sources (tsx, vitest) the thread is a .ts file that plain node cannot load,
// and Node 20 does not apply loader hooks that `--import tsx` registers inside a worker: the
// thread is imported through tsx's tsImport API by a tiny bootstrap. From compiled JavaScript
// the thread is the .js sibling, started directly.
const fromSource = import.meta.url.endsWith('.ts');
const threadUrl = new URL(fromSource ? './load-check.thread.ts' : './load-check.thread.js', import.meta.url);
const BOOTSTRAP = `const { workerData: d } = require('node:worker_threads'); import(d.tsxApi).then((m) => m.tsImport(d.entry, d.entry));`;

function startThread(bytes: Uint8Array): Worker {
  const common = { transferList: [bytes.buffer as ArrayBuffer] };
  if (!fromSource) return new Worker(threadUrl, { ...common, workerData: { bytes } });
  const tsxApi = import.meta.resolve('tsx/esm/api');
  return new Worker(BOOTSTRAP, { ...common, eval: true, workerData: { bytes, tsxApi, entry: threadUrl.href } });
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
          : reject(new InvalidModelError(m.message)),
      ),
    );
    // onnxruntime's own failures arrive as messages; an 'error' event means the thread itself broke (a server fault, not the model's).
    worker.once('error', (err) => finish(() => reject(new Error(`the model check thread failed: ${err.message}`, { cause: err }))));
    worker.once('exit', (code) => finish(() => reject(new InvalidModelError(`the loading thread stopped unexpectedly (exit code ${code})`))));
  });
}
