// Dynamic batching for small (online) jobs: concurrent submissions for the same model version are
// gathered and run as one inference task.
//
// Trade-off, and how it is settled: a lone request should not wait for company that is not
// coming, and under load requests should share runs. So batching follows the work, like Nagle's
// algorithm: while no run of this model version is in flight, a batch closes as soon as the work
// at hand is done (gathering only what arrived together); while one is in flight, submissions
// gather until it finishes, `maxRows` rows are reached, or `maxDelayMs` passes, whichever comes
// first. Idle, no wait is added; busy, each run amortises the per-task overhead (thread hop, session lookup, one onnxruntime call and one commit for many rows) over
// more callers. Keep `maxRows` at what one run handles well: bigger batches raise throughput but
// also the latency of every caller in them and the number of callers one failure rejects.
// A part with maxRows rows or more runs at once, alone: big jobs gain nothing from waiting.
// A run that fails is retried part by part, so one bad part fails alone.

export interface BatcherOptions<P extends { rowCount: number }, R> {
  maxRows: number;
  maxDelayMs: number;
  /** Runs parts of one model version together; resolves one result per part, in order. */
  run: (modelKey: string, parts: P[]) => Promise<R[]>;
}

export interface Batcher<P, R> {
  /** Resolves with this part's own result; rejects when its batch fails. */
  submit(modelKey: string, part: P): Promise<R>;
}

interface Waiting<P, R> {
  part: P;
  resolve: (r: R) => void;
  reject: (e: unknown) => void;
}

interface Open<P, R> {
  items: Waiting<P, R>[];
  rows: number;
  /** Closes the batch: once the work at hand is done when idle, maxDelayMs when a run is in flight. */
  cancel: () => void;
}

export function createBatcher<P extends { rowCount: number }, R>(opts: BatcherOptions<P, R>): Batcher<P, R> {
  const open = new Map<string, Open<P, R>>();
  const inFlight = new Map<string, number>();

  function schedule(key: string): () => void {
    if (!inFlight.get(key)) {
      // Once the promise jobs queued now have run (the parts of one queue job each reach the
      // batcher after an await of their own), not a turn of the event loop later: that turn would
      // first run whatever I/O is ready, and an idle worker's next I/O is this run's own.
      let cancelled = false;
      process.nextTick(() => !cancelled && close(key));
      return () => void (cancelled = true);
    }
    const t = setTimeout(() => close(key), opts.maxDelayMs);
    return () => clearTimeout(t);
  }

  function settled(key: string) {
    const n = (inFlight.get(key) ?? 1) - 1;
    if (n > 0) inFlight.set(key, n);
    else inFlight.delete(key);
    // The run that submissions were waiting behind is done: theirs goes now.
    if (open.has(key)) close(key);
  }

  function close(key: string): void {
    const batch = open.get(key);
    if (!batch) return;
    open.delete(key);
    batch.cancel();
    inFlight.set(key, (inFlight.get(key) ?? 0) + 1);
    const items = batch.items;
    void Promise.resolve()
      .then(() => opts.run(key, items.map((w) => w.part)))
      .then(
        (results) => {
          if (results.length !== items.length) throw new Error(`batch run returned ${results.length} results for ${items.length} parts`);
          items.forEach((w, i) => w.resolve(results[i]));
        },
      )
      .catch(async (err) => {
        if (items.length === 1) return void items[0].reject(err);
        // One part may have spoiled the run (a shape the model rejects): each goes again alone
        // and meets its own fate, so the others are not failed with it.
        await Promise.all(
          items.map((w) =>
            opts.run(key, [w.part]).then((r) => (r.length === 1 ? w.resolve(r[0]) : w.reject(new Error(`batch run returned ${r.length} results for 1 part`))), w.reject),
          ),
        );
      })
      .finally(() => settled(key));
  }

  return {
    submit(key, part) {
      return new Promise<R>((resolve, reject) => {
        const current = open.get(key);
        // Keep batches within maxRows: a part that would overflow the open batch starts the next one.
        if (current && current.rows + part.rowCount > opts.maxRows) close(key);
        let batch = open.get(key);
        if (!batch) {
          batch = { items: [], rows: 0, cancel: schedule(key) };
          open.set(key, batch);
        }
        batch.items.push({ part, resolve, reject });
        batch.rows += part.rowCount;
        if (batch.rows >= opts.maxRows) close(key);
      });
    },
  };
}
