// Dynamic batching for small (online) jobs: concurrent submissions for the same model version are
// gathered and run as one inference task.
//
// Trade-off: a batch closes at `maxRows` rows or `maxDelayMs` after its first submission, whichever
// comes first. Under load, batches fill before the timer and the delay costs nothing while a
// single run amortises the per-task overhead (thread hop, session lookup, one onnxruntime call for
// many rows). A lone request, though, always waits the full `maxDelayMs` before it runs: that delay
// is the price of being able to batch at all, so keep it small next to the inference time (a few
// ms), and keep `maxRows` at what one run handles well (bigger batches raise throughput, but also
// the latency of every caller in them and the number of callers one failure rejects).
// A part with maxRows rows or more runs at once, alone: big jobs gain nothing from waiting.

export interface BatcherOptions<P extends { rowCount: number }, R> {
  maxRows: number;
  maxDelayMs: number;
  /** Runs parts of one model version together; resolves one result per part, in order. */
  run: (modelKey: string, parts: P[]) => Promise<R[]>;
}

export interface Batcher<P, R> {
  /** Resolves with this part's own result; rejects when its batch fails. */
  submit(modelKey: string, part: P): Promise<R>;
  /** Runs every waiting batch now (e.g. on shutdown) and resolves when they have settled. */
  flush(): Promise<void>;
}

interface Waiting<P, R> {
  part: P;
  resolve: (r: R) => void;
  reject: (e: unknown) => void;
}

interface Open<P, R> {
  items: Waiting<P, R>[];
  rows: number;
  timer: ReturnType<typeof setTimeout>;
}

export function createBatcher<P extends { rowCount: number }, R>(opts: BatcherOptions<P, R>): Batcher<P, R> {
  const open = new Map<string, Open<P, R>>();
  const running = new Set<Promise<void>>();

  function close(key: string): void {
    const batch = open.get(key);
    if (!batch) return;
    open.delete(key);
    clearTimeout(batch.timer);
    const items = batch.items;
    const done = Promise.resolve()
      .then(() => opts.run(key, items.map((w) => w.part)))
      .then(
        (results) => {
          if (results.length !== items.length) throw new Error(`batch run returned ${results.length} results for ${items.length} parts`);
          items.forEach((w, i) => w.resolve(results[i]));
        },
      )
      .catch((err) => items.forEach((w) => w.reject(err)))
      .finally(() => running.delete(done));
    running.add(done);
  }

  return {
    submit(key, part) {
      return new Promise<R>((resolve, reject) => {
        const current = open.get(key);
        // Keep batches within maxRows: a part that would overflow the open batch starts the next one.
        if (current && current.rows + part.rowCount > opts.maxRows) close(key);
        let batch = open.get(key);
        if (!batch) {
          batch = { items: [], rows: 0, timer: setTimeout(() => close(key), opts.maxDelayMs) };
          open.set(key, batch);
        }
        batch.items.push({ part, resolve, reject });
        batch.rows += part.rowCount;
        if (batch.rows >= opts.maxRows) close(key);
      });
    },
    async flush() {
      for (const key of [...open.keys()]) close(key);
      await Promise.all([...running]);
    },
  };
}
