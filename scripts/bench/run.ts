// npm run bench — measures Sluice against the limits of its own stages and the naive way, in one
// run, on this machine; prints the figures and writes docs/benchmarks.md and docs/benchmarks.json.
// It uses its own database (sluice_bench_<random>, dropped at the end), its own Redis key prefix,
// and its own api/worker processes on free ports. Between sections and end-to-end runs it vacuums
// its database and checkpoints the cluster (db.settle), so no section pays for the last one's
// leftovers. Knobs (environment):
//   BENCH_ROWS=1000000  BENCH_REPEATS=3  BENCH_E2E_REPEATS=3  BENCH_NAIVE_ROWS=20000
//   BENCH_MEMORY_BYTES=2000000000  BENCH_RATE=200  BENCH_CLIENTS=64  BENCH_ONLINE_SECONDS=8
//   BENCH_TRACED_REQUESTS=300 (sequential traced predictions for the hop table)
//   BENCH_WATCHERS=10000  BENCH_WATCHER_JOBS=100  BENCH_WATCHER_FEEDS=100  BENCH_WATCHER_IDLE_SECONDS=20
//   BENCH_PAIRED_ROUNDS=600 (lone predictions paired: Sluice, the shape floor, the in-handler floor)
//   BENCH_SKIP=stages,naive,online,floor,shape,e2e,pipeline,lifecycle,observability,tracing,scaleout,memory,watchers   BENCH_VERBOSE=1 (child logs to stderr)
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  baseEnv, createBenchDb, createTenant, csvBuffers, dropRedisPrefix, median, REDIS_URL, registerModel, ROOT, round, startApi, startProcess, startWorker,
} from './common.js';
import { cpuPerUnit, cpuSnapshot, type CpuSnapshot } from './cpu.js';
import { apiMemory, e2e, type E2eRun } from './e2e.js';
import { naive } from './naive.js';
import { openLoop, saturation, type OpenLoop } from './online.js';
import { hopTable, type HopTable } from './hops.js';
import { durableFloor, type DurableFloor } from './durableFloor.js';
import { measureShapeFloor, type ShapeFloorFigures } from './shapeFloor.js';
import { measureStages, type StageFigures } from './stages.js';
import { pipelineCsvBuffers, pipelineModel } from './pipelineModel.js';
import { renderMarkdown } from './report.js';
import { watchers, type WatcherFigures } from './watchers.js';
import { measureLifecycle, type LifecycleFigures } from './lifecycle.js';
import { measureScaleOut, type ScaleOutFigures } from './scaleOut.js';
import { measureObservability, METRICS_VARIANTS, type ObservabilityFigures } from './observability.js';
import { measureTracedHops, startOtlpReceiver, tracingVariant, type TraceHops } from './tracing.js';

const num = (name: string, d: number) => (process.env[name] ? Number(process.env[name]) : d);
const ROWS = num('BENCH_ROWS', 1_000_000);
const REPEATS = num('BENCH_REPEATS', 3);
const E2E_REPEATS = num('BENCH_E2E_REPEATS', 3);
const NAIVE_ROWS = num('BENCH_NAIVE_ROWS', 20_000);
const MEMORY_BYTES = num('BENCH_MEMORY_BYTES', 2_000_000_000);
const RATE = num('BENCH_RATE', 200);
const CLIENTS = num('BENCH_CLIENTS', 64);
const ONLINE_SECONDS = num('BENCH_ONLINE_SECONDS', 8);
const WATCHERS = { watchers: num('BENCH_WATCHERS', 10_000), jobs: num('BENCH_WATCHER_JOBS', 100), feeds: num('BENCH_WATCHER_FEEDS', 100), idleSeconds: num('BENCH_WATCHER_IDLE_SECONDS', 20) };
const skip = new Set((process.env.BENCH_SKIP ?? '').split(',').map((s) => s.trim()).filter(Boolean));
const cores = os.availableParallelism();

const log = (...a: unknown[]) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}]`, ...a);

export interface Results {
  machine: { cores: number; cpu: string; memoryGb: number; node: string; loadAverageAtStart: number[]; date: string };
  config: Record<string, number>;
  stages?: StageFigures & { pipelineLimit: number };
  naive?: { rows: number; seconds: number; rowsPerSecond: number };
  e2e?: { workers: number; runs: E2eRun[]; rowsPerSecond: number; fractionOfP: number | null; timesNaive: number | null; workerPeakRssMb: number; apiPeakRssMb: number }[];
  online?: {
    sequential: Awaited<ReturnType<typeof saturation>>; lighter: OpenLoop[]; openLoop: Awaited<ReturnType<typeof openLoop>>; saturation: Awaited<ReturnType<typeof saturation>>;
    cpuMsPerPrediction: CpuSnapshot; cpuMsPerPredictionOneClient: CpuSnapshot; workerPeakRssMb: number; apiPeakRssMb: number;
    /** A lone prediction hop by hop (scripts/bench/hops.ts). */
    hops?: HopTable;
    /** What durability alone costs here, step by step with plain clients (scripts/bench/durableFloor.ts). */
    durable?: DurableFloor;
  };
  floor?: { openLoop: Awaited<ReturnType<typeof openLoop>>; saturation: Awaited<ReturnType<typeof saturation>>; sequential?: Awaited<ReturnType<typeof saturation>> };
  /** The fixed shape with none of Sluice's code (scripts/bench/shapeFloor.ts), and lone predictions paired with Sluice's and the floor's. */
  shape?: ShapeFloorFigures;
  memory?: Awaited<ReturnType<typeof apiMemory>>;
  /** The titanic-like pipeline (one input per column), end to end with one worker. */
  pipeline?: { runs: E2eRun[]; rowsPerSecond: number };
  /** An evaluation job and a compare job beside a plain one on the same labelled CSV (issue 14). */
  lifecycle?: LifecycleFigures;
  /** Idle live-progress (SSE) watchers on one api process (issue 15). */
  watchers?: WatcherFigures;
  /** Worker and api processes (behind the local nginx) end to end, intake, and per-row costs (issue 18, scripts/bench/scaleOut.ts). */
  scaleOut?: ScaleOutFigures;
  /** The standard job plain, with metrics, with tracing, interleaved (issue 17, scripts/bench/observability.ts). */
  observability?: ObservabilityFigures;
  /** A lone prediction's hops from its trace, tracing on (issue 17, scripts/bench/tracing.ts). */
  tracing?: { hops: TraceHops };
}

const results: Results = {
  machine: {
    cores, cpu: os.cpus()[0]?.model ?? 'unknown', memoryGb: round(os.totalmem() / 1024 ** 3, 1), node: process.version,
    loadAverageAtStart: os.loadavg().map((x) => round(x, 2)), date: new Date().toISOString(),
  },
  config: { rows: ROWS, repeats: REPEATS, e2eRepeats: E2E_REPEATS, naiveRows: NAIVE_ROWS, memoryBytes: MEMORY_BYTES, rate: RATE, clients: CLIENTS, onlineSeconds: ONLINE_SECONDS, chunkRows: 5000, inferenceBatchSize: 1024 },
};

const db = await createBenchDb();
const prefix = `sluice-bench-${randomBytes(4).toString('hex')}`;
const env = baseEnv(db, prefix);
log(`database ${db.name}, redis prefix ${prefix}, ${cores} cores, load ${results.machine.loadAverageAtStart.join(' ')}`);
try {
  const tenant = await createTenant(db.pool, 'bench');

  if (!skip.has('stages')) {
    log('stage limits (one core each, in this process)…');
    const s = await measureStages(db.pool, REPEATS);
    const pipelineLimit = cores / (1 / s.parse + 1 / s.infer + 1 / s.store);
    results.stages = { ...s, pipelineLimit };
    log(`intake store: ${round(s.intake.compressed)} rows/s (default pglz TOAST) vs ${round(s.intake.external)} rows/s (STORAGE EXTERNAL)`);
    log(`parse ${round(s.parse)} rows/s, infer ${round(s.infer)} rows/s, store ${round(s.store)} rows/s → P = ${round(pipelineLimit)} rows/s`);
    await db.settle();
  }

  if (!skip.has('naive')) {
    log(`naive way on ${NAIVE_ROWS} rows…`);
    results.naive = await naive(db.pool, `${prefix}-naive`, NAIVE_ROWS);
    log(`naive ${round(results.naive.rowsPerSecond)} rows/s`);
    await db.settle();
  }

  // Register the model through the api (validation included), then single items on api + 1 worker.
  {
    const api = await startApi(env);
    try {
      await registerModel(api.url, tenant, 'bench');
    } finally {
      await api.stop();
    }
  }

  if (!skip.has('online')) {
    log(`single items: open loop ${RATE}/s and ${CLIENTS} clients…`);
    const api = await startApi(env);
    const worker = await startWorker(env);
    try {
      await openLoop(api.url, tenant.auth, 50, 1, 0); // warm: model cache, sessions, connections
      const roles = { api: api.pid, worker: worker.pid, bench: process.pid };
      const beforeOne = cpuSnapshot(roles, db.name);
      const sequential = await saturation(api.url, tenant.auth, 1, Math.min(3, ONLINE_SECONDS), 0);
      const cpuMsPerPredictionOneClient = cpuPerUnit(beforeOne, cpuSnapshot(roles, db.name), sequential.ok + sequential.errors);
      log(`one client: p50 ${round(sequential.p50, 2)} ms, p99 ${round(sequential.p99, 2)} ms; CPU ms per prediction ${JSON.stringify(cpuMsPerPredictionOneClient)}`);
      const hops = await hopTable(api.url, tenant.auth, db.pool);
      log(`hops of a lone prediction (median ms): ${hops.hops.map((h) => round(h.ms, 2)).join(' | ')}; total ${round(hops.total, 2)}`);
      const durable = await durableFloor(db.pool, REDIS_URL, `${prefix}-floor`);
      log(`durable floor steps (median ms): ${durable.steps.map((x) => round(x.ms, 2)).join(' | ')}; sum ${round(durable.sum, 2)}`);
      // Lighter loads first, to show where latency bends (the knee), then the issue's rate.
      const lighter: OpenLoop[] = [];
      for (const rate of [RATE / 8, RATE / 4, RATE / 2]) {
        lighter.push(await openLoop(api.url, tenant.auth, rate, Math.max(2, ONLINE_SECONDS / 2)));
        log(`open loop ${rate}/s: p50 ${round(lighter.at(-1)!.p50, 1)} ms p99 ${round(lighter.at(-1)!.p99, 1)}`);
      }
      const ol = await openLoop(api.url, tenant.auth, RATE, ONLINE_SECONDS);
      log(`open loop: p50 ${round(ol.p50, 1)} ms p95 ${round(ol.p95, 1)} p99 ${round(ol.p99, 1)} (${ol.ok} ok, ${ol.errors} errors)`);
      const before = cpuSnapshot(roles, db.name);
      const sat = await saturation(api.url, tenant.auth, CLIENTS, ONLINE_SECONDS, 0);
      const cpuMsPerPrediction = cpuPerUnit(before, cpuSnapshot(roles, db.name), sat.ok + sat.errors);
      log(`saturation: ${round(sat.perSecond)} predictions/s (${sat.errors} errors), p50 ${round(sat.p50, 1)} ms; CPU ms per prediction ${JSON.stringify(cpuMsPerPrediction)}`);
      results.online = { sequential, hops, durable, lighter, openLoop: ol, saturation: sat, cpuMsPerPrediction, cpuMsPerPredictionOneClient, workerPeakRssMb: worker.peakRssMb(), apiPeakRssMb: api.peakRssMb() };
    } finally {
      await worker.stop();
      await api.stop();
    }
  }

  if (!skip.has('floor')) {
    log('floor: the model inside an Express handler…');
    const floor = startProcess('scripts/bench/floorServer.ts', { PORT: '0' });
    const port = Number((await floor.ready()).port);
    const url = `http://127.0.0.1:${port}`;
    try {
      await openLoop(url, {}, 50, 1, 0);
      // One client, back to back: the floor of a lone request (the issue 19 goals compare with it).
      const sequential = await saturation(url, {}, 1, Math.min(3, ONLINE_SECONDS), 0);
      const ol = await openLoop(url, {}, RATE, ONLINE_SECONDS);
      const sat = await saturation(url, {}, CLIENTS, ONLINE_SECONDS);
      results.floor = { openLoop: ol, saturation: sat, sequential };
      log(`floor: one client p50 ${round(sequential.p50, 2)} ms; open loop p50 ${round(ol.p50, 2)} ms p99 ${round(ol.p99, 2)}; ${round(sat.perSecond)} predictions/s`);
    } finally {
      await floor.stop();
    }
  }

  if (!skip.has('shape')) {
    log('shape floor: Express, pg, BullMQ, ioredis and onnxruntime with none of Sluice’s code…');
    const sh = (results.shape = await measureShapeFloor(env, tenant, db.name, { rate: RATE, clients: CLIENTS, seconds: ONLINE_SECONDS, repeats: REPEATS, pairedRounds: num('BENCH_PAIRED_ROUNDS', 600) }));
    log(`shape floor: one client p50 ${round(sh.sequentialP50, 2)} ms; open loop p50 ${round(sh.openLoopP50, 2)} ms p99 ${round(sh.openLoopP99, 2)}; ${round(sh.saturationPerSecond)}/s; paired lone p50 (Sluice, shape, floor) ${sh.paired.p50.map((x) => round(x, 2)).join(', ')} ms`);
  }

  if (!skip.has('e2e')) {
    log(`generating ${ROWS} rows…`);
    const buffers = csvBuffers(ROWS, 11);
    log(`${round(buffers.reduce((a, b) => a + b.length, 0) / 1e6)} MB generated`);
    results.e2e = [];
    await db.settle();
    for (const workers of [1, 2]) {
      const runs: E2eRun[] = [];
      for (let i = 0; i < E2E_REPEATS; i++) {
        log(`end to end: ${ROWS} rows, ${workers} worker process(es), run ${i + 1}/${E2E_REPEATS}…`);
        const r = await e2e(env, tenant, buffers, workers);
        runs.push(r);
        log(`${round(r.rowsPerSecond)} rows/s (${round(r.seconds, 1)} s; upload ${round(r.uploadSeconds, 1)} s); worker peak RSS ${r.workerPeakRssMb.map((x) => round(x)).join(', ')} MB; CPU s per 1M rows ${JSON.stringify(Object.fromEntries(Object.entries(r.cpuSecondsPerMillionRows).map(([k, v]) => [k, round(v, 2)])))}`);
        await db.pool.query('DELETE FROM prediction_chunks');
        await db.pool.query(`DELETE FROM jobs WHERE kind = 'batch'`);
        await db.settle();
      }
      const rps = median(runs.map((r) => r.rowsPerSecond));
      results.e2e.push({
        workers, runs, rowsPerSecond: rps,
        fractionOfP: results.stages ? rps / results.stages.pipelineLimit : null,
        timesNaive: results.naive ? rps / results.naive.rowsPerSecond : null,
        workerPeakRssMb: Math.max(...runs.flatMap((r) => r.workerPeakRssMb)),
        apiPeakRssMb: Math.max(...runs.map((r) => r.apiPeakRssMb)),
      });
    }
  }

  if (!skip.has('pipeline')) {
    // A scikit-learn pipeline with one input per column of mixed types (scripts/bench/pipelineModel.ts):
    // strings and missing values take the general CSV road and one tensor per input.
    const api = await startApi(env);
    try {
      await registerModel(api.url, tenant, 'pipeline', pipelineModel());
    } finally {
      await api.stop();
    }
    const buffers = pipelineCsvBuffers(ROWS, 13);
    await db.settle();
    const runs: E2eRun[] = [];
    for (let i = 0; i < E2E_REPEATS; i++) {
      log(`end to end, titanic-like pipeline: ${ROWS} rows, 1 worker process, run ${i + 1}/${E2E_REPEATS}…`);
      const r = await e2e(env, tenant, buffers, 1, {}, 'pipeline');
      runs.push(r);
      log(`${round(r.rowsPerSecond)} rows/s (${round(r.seconds, 1)} s); worker peak RSS ${r.workerPeakRssMb.map((x) => round(x)).join(', ')} MB`);
      await db.pool.query('DELETE FROM prediction_chunks');
      await db.pool.query(`DELETE FROM jobs WHERE kind = 'batch'`);
      await db.settle();
    }
    results.pipeline = { runs, rowsPerSecond: median(runs.map((r) => r.rowsPerSecond)) };
  }

  if (!skip.has('lifecycle')) {
    const between = async () => {
      await db.pool.query('DELETE FROM prediction_chunks');
      await db.pool.query(`DELETE FROM jobs WHERE kind = 'batch'`);
      await db.settle();
    };
    const l = (results.lifecycle = await measureLifecycle(env, tenant, ROWS, E2E_REPEATS, between, log));
    log(`lifecycle: plain ${round(l.plain.rowsPerSecond)} rows/s, evaluation ${round(l.evaluation.rowsPerSecond)} (${round(l.evaluation.ofPlain * 100)} %), compare ${round(l.compare.rowsPerSecond)} (${round(l.compare.ofPlain * 100)} %)`);
  }

  if (!skip.has('observability')) {
    const buffers = csvBuffers(ROWS, 11);
    const between = async () => {
      await db.pool.query('DELETE FROM prediction_chunks');
      await db.pool.query(`DELETE FROM jobs WHERE kind = 'batch'`);
      await db.settle();
    };
    // Tracing's variant exports to a receiver in this process (scripts/bench/tracing.ts).
    const receiver = await startOtlpReceiver();
    const o = (results.observability = await measureObservability(env, tenant, buffers, ROWS, E2E_REPEATS, [...METRICS_VARIANTS, tracingVariant(receiver.endpoint)], between, log).finally(() => receiver.close()));
    log(`observability: ${o.variants.map((v) => `${v.name} ${round(v.rowsPerSecond)} rows/s (${v.overhead >= 0 ? '+' : ''}${round(v.overhead * 100, 1)} %)`).join(', ')}`);
  }

  if (!skip.has('tracing')) {
    log('a lone prediction hop by hop, from its trace (tracing on)…');
    const hops = await measureTracedHops(env, tenant, { requests: num('BENCH_TRACED_REQUESTS', 300) });
    results.tracing = { hops };
    log(`traced hops (median ms): ${hops.hops.map((h) => `${h.name} ${round(h.ms, 2)}`).join(', ')}; request ${round(hops.request, 2)}, client ${round(hops.client ?? NaN, 2)} over ${hops.traces} traces`);
  }

  if (!skip.has('scaleout')) {
    log(`scale-out: ${ROWS} rows with 1, 2, 4 workers and 1, 2 apis behind nginx…`);
    const buffers = csvBuffers(ROWS, 17);
    const between = async () => {
      await db.pool.query('DELETE FROM prediction_chunks');
      await db.pool.query(`DELETE FROM jobs WHERE kind = 'batch'`);
      await db.settle();
    };
    await db.settle();
    results.scaleOut = await measureScaleOut(env, tenant, buffers, db, between, log);
  }

  if (!skip.has('memory')) {
    log(`api memory: streaming ${round(MEMORY_BYTES / 1e9, 1)} GB of generated CSV…`);
    results.memory = await apiMemory(env, tenant, MEMORY_BYTES);
    log(`api peak RSS ${round(results.memory.peakRssMb)} MB over ${round(results.memory.bytes / 1e9, 2)} GB (${round(results.memory.mbPerSecond)} MB/s)`);
  }

  if (!skip.has('watchers')) {
    const w = (results.watchers = await watchers(env, db, tenant, { ...WATCHERS, model: 'bench' }));
    log(`watchers: api RSS ${round(w.rssBeforeMb)} → ${round(w.rssAfterMb)} MB with ${w.watchers} streams (${round(w.kbPerWatcher, 1)} kB each); transactions while idle ${w.idleSeconds} s: ${w.idleTransactionsWith} with them, ${w.idleTransactionsWithout} without`);
  }
} finally {
  await db.drop().catch((err) => log('could not drop the bench database:', err.message));
  await dropRedisPrefix(prefix).catch(() => {});
  await dropRedisPrefix(`${prefix}-mem`).catch(() => {});
  await dropRedisPrefix(`${prefix}-naive`).catch(() => {});
  await dropRedisPrefix(`${prefix}-floor`).catch(() => {});
}

const json = path.join(ROOT, 'docs/benchmarks.json');
const md = path.join(ROOT, 'docs/benchmarks.md');
writeFileSync(json, `${JSON.stringify(results, null, 2)}\n`);
// The dashboard's figures come from another run (npm run bench:web): their block is kept as it was.
const dashboard = /<!-- dashboard:start[\s\S]*?<!-- dashboard:end -->\n?/.exec(existsSync(md) ? readFileSync(md, 'utf8') : '')?.[0];
const text = renderMarkdown(results) + (dashboard ? `\n${dashboard}` : '');
writeFileSync(md, text);
console.log(text);
log(`wrote ${path.relative(ROOT, md)} and ${path.relative(ROOT, json)}`);
process.exit(0);
