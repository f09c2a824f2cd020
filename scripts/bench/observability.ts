// What observability costs (issue 17): the standard CSV job (BENCH_ROWS rows, one worker process)
// end to end, upload start → job completed, once per variant — plain (METRICS_ENABLED=false), with
// metrics, and whatever other variants are handed in (tracing) — interleaved run by run, so a
// drift of the machine touches them all alike. A variant with metrics on is scraped the whole time
// (both processes, every SCRAPE_INTERVAL_MS: three times as often as deploy/monitoring's Prometheus,
// every 15 s), so the figure includes the readings taken at scrape time (queue depths, a worker's
// readiness checks), not only the recording. A scrape costs a few ms of CPU per process: at one a
// second it alone would weigh a few percent on a job of half a minute, which no deployment pays.
import { median, request, startApi, startWorker, type Proc, type Tenant } from './common.js';
import { cpuPerUnit, cpuSnapshot } from './cpu.js';
import { runJob } from './e2e.js';

export interface ObservabilityVariant {
  /** Key in the results (plain, metrics, tracing, ...). */
  name: string;
  /** How docs/benchmarks.md names it. */
  label: string;
  /** Environment of the api and worker for this variant, over the bench's own. */
  env: Record<string, string>;
}

export interface VariantFigures {
  name: string;
  label: string;
  env: Record<string, string>;
  /** rows/s of each run, in order. */
  runs: number[];
  rowsPerSecond: number;
  /** The plain variant's median over this one's, minus 1: the share of throughput it costs (negative: faster). */
  overhead: number;
  /** Metrics scrapes answered during the runs (0 when metrics are off), and their median time. */
  scrapes: number;
  scrapeMs: number | null;
  /**
   * CPU seconds per 1,000,000 rows of the api and the worker together (median of the runs), and
   * its share over plain's: steadier than rows/s on a machine that is busy with other work.
   */
  cpuSecondsPerMillionRows: number;
  cpuOverhead: number;
}

export interface ObservabilityFigures {
  rows: number;
  repeats: number;
  scrapeIntervalMs: number;
  variants: VariantFigures[];
}

const SCRAPE_INTERVAL_MS = 5000;

/** The plain run and the metrics run; the tracing helper adds its variant beside them. */
export const METRICS_VARIANTS: ObservabilityVariant[] = [
  { name: 'plain', label: 'plain (METRICS_ENABLED=false)', env: { METRICS_ENABLED: 'false' } },
  { name: 'metrics', label: 'metrics on, scraped every 5 s', env: { METRICS_ENABLED: 'true' } },
];

/** Scrapes the given metrics ports until stopped: how many answered, and how long each took. */
function scraper(ports: number[]) {
  const times: number[] = [];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      for (const port of ports) {
        const t0 = performance.now();
        const r = await request(`http://127.0.0.1:${port}/metrics`, {}).catch(() => null);
        if (r?.status === 200) times.push(performance.now() - t0);
      }
      await new Promise((r) => setTimeout(r, SCRAPE_INTERVAL_MS));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      return times;
    },
  };
}

/** One api and one worker with the variant's environment, a warm-up job, then the measured job. */
async function oneRun(env: Record<string, string>, t: Tenant, buffers: Buffer[], model: string) {
  const api = await startApi(env);
  const procs: Proc[] = [api];
  try {
    const worker = await startWorker(env);
    procs.push(worker);
    await runJob(api.url, t, buffers.slice(0, 5), model);
    const ports = [api.metricsPort, worker.metricsPort].filter((p): p is number => typeof p === 'number');
    const roles = { api: api.pid, worker: worker.pid };
    const database = new URL(env.DATABASE_URL).pathname.slice(1);
    const scrapes = ports.length ? scraper(ports) : null;
    const before = cpuSnapshot(roles, database);
    const r = await runJob(api.url, t, buffers, model);
    const cpu = cpuPerUnit(before, cpuSnapshot(roles, database), r.rows);
    const times = (await scrapes?.stop()) ?? [];
    // cpuPerUnit gives ms per row (per row, not per million: it counts at least one unit); × 1e6 rows ÷ 1000 ms.
    return { rowsPerSecond: r.rows / r.seconds, scrapes: times, cpuSeconds: ((cpu.api ?? 0) + (cpu.worker ?? 0)) * 1000 };
  } finally {
    for (const p of procs.reverse()) await p.stop();
  }
}

/**
 * Runs `repeats` rounds of every variant (the first one is the baseline the others are compared
 * with), `between` after each run (the caller clears results and settles the database).
 */
export async function measureObservability(
  env: Record<string, string>, t: Tenant, buffers: Buffer[], rows: number, repeats: number, variants: ObservabilityVariant[],
  between: () => Promise<void>, log: (...a: unknown[]) => void, model = 'bench',
): Promise<ObservabilityFigures> {
  const runs = new Map(variants.map((v) => [v.name, { rps: [] as number[], scrapes: [] as number[], cpu: [] as number[] }]));
  await between();
  for (let i = 0; i < repeats; i++) {
    for (const v of variants) {
      log(`observability: ${v.label}, ${rows} rows, run ${i + 1}/${repeats}…`);
      const r = await oneRun({ ...env, ...v.env }, t, buffers, model);
      runs.get(v.name)!.rps.push(r.rowsPerSecond);
      runs.get(v.name)!.scrapes.push(...r.scrapes);
      runs.get(v.name)!.cpu.push(r.cpuSeconds);
      log(`observability: ${v.label}: ${Math.round(r.rowsPerSecond)} rows/s, ${r.cpuSeconds.toFixed(2)} CPU s per 1M rows${r.scrapes.length ? ` (${r.scrapes.length} scrapes)` : ''}`);
      await between();
    }
  }
  const base = median(runs.get(variants[0].name)!.rps);
  const baseCpu = median(runs.get(variants[0].name)!.cpu);
  return {
    rows, repeats, scrapeIntervalMs: SCRAPE_INTERVAL_MS,
    variants: variants.map((v) => {
      const r = runs.get(v.name)!;
      const rps = median(r.rps);
      const cpu = median(r.cpu);
      return {
        name: v.name, label: v.label, env: v.env, runs: r.rps, rowsPerSecond: rps, overhead: base / rps - 1, scrapes: r.scrapes.length, scrapeMs: r.scrapes.length ? median(r.scrapes) : null,
        cpuSecondsPerMillionRows: cpu, cpuOverhead: cpu / baseCpu - 1,
      };
    }),
  };
}
