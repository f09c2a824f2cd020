// piscina loads this plain-JS file in each inference thread. The thread's code is not loaded through
// tsx here: pool.ts bundles thread.ts and what it imports from src/ into one CommonJS source once
// per process and hands it over in workerData, so a thread carries no TypeScript tooling: tsx in
// a thread runs its loader hooks on a thread of their own, another V8 isolate, and so does the
// `--import tsx` a thread inherits from the process (pool.ts leaves it out): about 30 MB a thread.
// Packages (piscina, csv-parse, onnxruntime-node) are left out of the bundle and required from
// thread.ts's folder, so they resolve as they would for thread.ts itself. Stack traces name the
// bundle `thread.ts.bundle.cjs`: its line numbers are the bundle's, its function names the source's.
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { compileFunction } from 'node:vm';
import { workerData } from 'node:worker_threads';

const { code, filename, resolveFrom } = workerData;
const module = { exports: {} };
compileFunction(code, ['exports', 'require', 'module', '__filename', '__dirname'], { filename })(
  module.exports,
  createRequire(resolveFrom),
  module,
  filename,
  dirname(filename),
);

export default module.exports.default;
export const releaseSessions = module.exports.releaseSessions;
