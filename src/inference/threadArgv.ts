// What a worker thread (inference, model load check) takes from the process's command line.

// Node options a thread may take from the process (profiling, source maps, warnings); the others
// stay behind: loaders such as `--import tsx` (each would start a loader thread per inference
// thread, and the threads run plain JavaScript), V8 flags (process-wide: they apply to the
// threads anyway) and per-process options (Worker rejects both).
const THREAD_FLAGS = /^(--cpu-prof|--heap-prof|--enable-source-maps|--conditions|-C$|--no-warnings|--trace-warnings|--no-deprecation|--trace-deprecation|--unhandled-rejections|--trace-uncaught)/;
const TAKES_VALUE = new Set(['--cpu-prof-dir', '--cpu-prof-name', '--cpu-prof-interval', '--heap-prof-dir', '--heap-prof-name', '--heap-prof-interval', '--conditions', '-C', '--unhandled-rejections']);

/** The process's execArgv as the inference threads get it (see THREAD_FLAGS). */
export function threadExecArgv(execArgv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i];
    // An option left behind leaves its value (`--import tsx`) behind too: that matches no pattern.
    if (!THREAD_FLAGS.test(arg)) continue;
    out.push(arg);
    if (TAKES_VALUE.has(arg) && i + 1 < execArgv.length) out.push(execArgv[++i]);
  }
  return out;
}
