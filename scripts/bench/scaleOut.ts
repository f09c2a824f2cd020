// Scale-out on this machine (issue 18): the standard job end to end with 1, 2 and 4 worker
// processes on one api, and through the local nginx (deploy/nginx, as compose runs it) in front of
// 1 and 2 apis; concurrent uploads through nginx with 1 and 2 apis (intake alone); and what one
// row costs the shared services — Postgres transactions, tuples and WAL, Redis commands and bytes,
// bytes stored — measured around one job, for the projection in docs/deploy.md ("Sizing,
// scale-out figures and the next bottleneck"). Everything runs against a private Redis on a free
// port, so its command counters are this bench's alone; the Postgres counters are the bench
// database's (pg_stat_database), WAL is the cluster's (the bench is meant to run alone).
import { Readable } from 'node:stream';
import { Redis } from 'ioredis';
import pg from 'pg';
import { startNginx, type Nginx } from '../../test/helpers/nginx.js';
import { freePort } from '../../test/helpers/processes.js';
import { startRedisServer } from '../../test/reliability/infra.js';
import { createTenant, now, registerModel, request, startApi, startWorker, type Proc, type Tenant } from './common.js';
import { startPrivatePostgres } from './privatePostgres.js';
import { runJob } from './e2e.js';

export interface ScaleOutRun {
  apis: number;
  viaNginx: boolean;
  workers: number;
  rows: number;
  seconds: number;
  rowsPerSecond: number;
  uploadSeconds: number;
  /** Commands Redis executed per chunk during the measured job (all processes, idle polling and the commands inside BullMQ's Lua scripts included). */
  redisCallsPerChunk: number;
}

export interface PerRowCosts {
  rows: number;
  chunks: number;
  chunkRows: number;
  postgres: {
    transactionsPerChunk: number;
    tuplesInsertedPerChunk: number;
    tuplesUpdatedPerChunk: number;
    tuplesDeletedPerChunk: number;
    walBytesPerRow: number;
  };
  redis: { callsPerChunk: number; byCommandPerChunk: Record<string, number>; bytesInPerChunk: number; bytesOutPerChunk: number };
  /** CSV uploaded, results stored (prediction_chunks, one table row per chunk), results downloaded as CSV. */
  bytes: { uploadPerRow: number; storedResultPerRow: number; downloadPerRow: number };
  /** How long the job the costs come from took. */
  seconds: number;
}

export interface ScaleOutFigures {
  rows: number;
  runs: ScaleOutRun[];
  /** `uploads` concurrent uploads of rows/uploads rows each, through nginx, no worker: upload start → all answered 202. */
  intake: { apis: number; uploads: number; rows: number; seconds: number; rowsPerSecond: number }[];
  costs: PerRowCosts;
}

type Log = (...a: unknown[]) => void;

const CONFIGS: { apis: number; viaNginx: boolean; workers: number }[] = [
  { apis: 1, viaNginx: false, workers: 1 },
  { apis: 1, viaNginx: false, workers: 2 },
  { apis: 1, viaNginx: false, workers: 4 },
  { apis: 1, viaNginx: true, workers: 2 },
  { apis: 2, viaNginx: true, workers: 2 },
];

interface Counters {
  pg: { xact: number; ins: number; upd: number; del: number; wal: number };
  redis: { calls: Record<string, number>; bytesIn: number; bytesOut: number };
}

async function counters(databaseUrl: string, redis: Redis): Promise<Counters> {
  const c = new pg.Client({ connectionString: databaseUrl });
  await c.connect();
  try {
    // Our own backend's pending counters first, so the snapshot is current for this session too.
    await c.query('SELECT pg_stat_force_next_flush()').catch(() => {});
    const { rows } = await c.query(`SELECT (d.xact_commit + d.xact_rollback)::float8 AS xact, d.tup_inserted::float8 AS ins, d.tup_updated::float8 AS upd,
                                           d.tup_deleted::float8 AS del, w.wal_bytes::float8 AS wal
                                      FROM pg_stat_database d, pg_stat_wal w WHERE d.datname = current_database()`);
    const stats = await redis.info('commandstats');
    const calls: Record<string, number> = {};
    for (const m of stats.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls[m[1]] = Number(m[2]);
    const net = await redis.info('stats');
    const num = (k: string) => Number(new RegExp(`^${k}:(\\d+)`, 'm').exec(net)?.[1] ?? 0);
    return { pg: rows[0], redis: { calls, bytesIn: num('total_net_input_bytes'), bytesOut: num('total_net_output_bytes') } };
  } finally {
    await c.end();
  }
}

const callsBetween = (a: Counters, b: Counters) => {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(b.redis.calls)) if (v - (a.redis.calls[k] ?? 0) > 0) out[k] = v - (a.redis.calls[k] ?? 0);
  // INFO itself is ours, not Sluice's.
  delete out.info;
  return out;
};

/** The apis (1 or 2, behind nginx or not) and workers of one configuration. */
async function startStack(env: Record<string, string>, cfg: { apis: number; viaNginx: boolean; workers: number }) {
  const apis: Proc[] = [];
  const workers: Proc[] = [];
  let nginx: Nginx | undefined;
  const stop = async () => {
    await nginx?.stop();
    for (const p of [...workers, ...apis]) await p.stop();
  };
  try {
    const ports: number[] = [];
    for (let i = 0; i < cfg.apis; i++) {
      const a = await startApi(env);
      apis.push(a);
      ports.push(a.port);
    }
    for (let i = 0; i < cfg.workers; i++) workers.push(await startWorker(env));
    if (cfg.viaNginx) nginx = await startNginx({ apis: ports.map((p) => `127.0.0.1:${p}`), port: await freePort(), workers: 1 });
    const url = nginx?.url ?? `http://127.0.0.1:${ports[0]}`;
    return { url, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

export async function measureScaleOut(
  baseEnv: Record<string, string>, t: Tenant, buffers: Buffer[], db: { url: string; pool: pg.Pool }, between: () => Promise<void>, log: Log,
): Promise<ScaleOutFigures> {
  const redisServer = await startRedisServer();
  const env: Record<string, string> = { ...baseEnv, REDIS_URL: redisServer.url };
  const redis = new Redis(redisServer.url);
  const chunkRows = Number(env.CHUNK_ROWS ?? 5000);
  const totalRows = countRows(buffers);
  try {
    const runs: ScaleOutRun[] = [];
    for (const cfg of CONFIGS) {
      const stack = await startStack(env, cfg);
      try {
        // Warm every api (nginx takes turns: one small job each) and the workers: model cache, sessions, connections, JIT.
        for (let i = 0; i < cfg.apis; i++) await runJob(stack.url, t, buffers.slice(0, 5), 'bench');
        const before = await counters(db.url, redis);
        const r = await runJob(stack.url, t, buffers, 'bench');
        const after = await counters(db.url, redis);
        const calls = Object.values(callsBetween(before, after)).reduce((a, b) => a + b, 0);
        runs.push({ ...cfg, rows: r.rows, seconds: r.seconds, rowsPerSecond: r.rows / r.seconds, uploadSeconds: r.uploadSeconds, redisCallsPerChunk: calls / Math.ceil(r.rows / chunkRows) });
        log(`scale-out: ${cfg.apis} api${cfg.apis > 1 ? 's' : ''}${cfg.viaNginx ? ' behind nginx' : ''}, ${cfg.workers} worker${cfg.workers > 1 ? 's' : ''}: ${Math.round(r.rows / r.seconds)} rows/s (upload ${r.uploadSeconds.toFixed(1)} s)`);
      } finally {
        await stack.stop();
      }
      await between();
    }

    // Intake alone: several uploads at once through nginx, one api or two. No worker runs, and the
    // chunks are enqueued under a prefix of their own, so nothing is scored meanwhile.
    const intake: ScaleOutFigures['intake'] = [];
    const uploads = 4;
    const header = buffers[0];
    const body = buffers.slice(1);
    const parts = Array.from({ length: uploads }, (_, i) => [header, ...body.filter((_, j) => j % uploads === i)]);
    for (const apis of [1, 2]) {
      const stack = await startStack({ ...env, REDIS_PREFIX: `${env.REDIS_PREFIX}-intake` }, { apis, viaNginx: true, workers: 0 });
      try {
        for (let i = 0; i < 2 * apis; i++) await uploadAll(stack.url, t, [buffers.slice(0, 3)]); // warm every api (nginx takes turns)
        const t0 = now();
        await uploadAll(stack.url, t, parts);
        const seconds = (now() - t0) / 1000;
        intake.push({ apis, uploads, rows: totalRows, seconds, rowsPerSecond: totalRows / seconds });
        log(`scale-out intake: ${uploads} uploads at once through nginx to ${apis} api${apis > 1 ? 's' : ''}: ${Math.round(totalRows / seconds)} rows/s`);
      } finally {
        await stack.stop();
      }
      await between();
    }

    const costs = await measurePerRowCosts(env, buffers, redis, chunkRows);
    log(`per chunk of ${chunkRows} rows: ${costs.postgres.transactionsPerChunk.toFixed(1)} Postgres transactions, ${costs.redis.callsPerChunk.toFixed(1)} Redis commands; WAL ${costs.postgres.walBytesPerRow.toFixed(0)} B/row`);
    await between();
    return { rows: totalRows, runs, intake, costs };
  } finally {
    redis.disconnect();
    await redisServer.remove();
  }
}

/**
 * What a row costs the shared services, on a Postgres of its own (production settings but for the
 * port): the WAL counter is the cluster's, and the shared cluster may be busy with other work.
 */
export async function measurePerRowCosts(env: Record<string, string>, buffers: Buffer[], redis: Redis, chunkRows: number): Promise<PerRowCosts> {
  const privatePg = await startPrivatePostgres();
  try {
    const pool = new pg.Pool({ connectionString: privatePg.url, max: 2 });
    try {
      const costEnv = { ...env, DATABASE_URL: privatePg.url, REDIS_PREFIX: `${env.REDIS_PREFIX}-costs` };
      const tenant = await createTenant(pool, 'bench');
      const api = await startApi(costEnv);
      try {
        await registerModel(api.url, tenant, 'bench');
      } finally {
        await api.stop();
      }
      await pool.query('CHECKPOINT');
      return await measureCosts(costEnv, tenant, buffers, { url: privatePg.url, pool }, redis, chunkRows);
    } finally {
      await pool.end();
    }
  } finally {
    await privatePg.remove();
  }
}

function countRows(buffers: Buffer[]): number {
  let n = 0;
  for (const b of buffers) for (let i = 0; i < b.length; i++) if (b[i] === 10) n++;
  return n - 1; // the header line
}

async function uploadAll(url: string, t: Tenant, parts: Buffer[][]) {
  await Promise.all(parts.map(async (p) => {
    const res = await request(`${url}/v1/jobs?model=bench`, { method: 'POST', headers: { ...t.auth, 'content-type': 'text/csv' }, body: Readable.from(p) });
    if (res.status !== 202) throw new Error(`upload answered ${res.status}: ${res.body.slice(0, 300)}`);
  }));
}

/**
 * One job on one api and two workers, on a Postgres of its own. Postgres counts a backend's
 * statistics when the backend reports them (at the latest when it exits), so its counters are read
 * before the processes start and after they have stopped: every backend's share is in, along with
 * the processes' few start-up and shutdown transactions and the model's first load.
 */
async function measureCosts(env: Record<string, string>, t: Tenant, buffers: Buffer[], db: { url: string; pool: pg.Pool }, redis: Redis, chunkRows: number): Promise<PerRowCosts> {
  const before = await counters(db.url, redis);
  const stack = await startStack(env, { apis: 1, viaNginx: false, workers: 2 });
  let r: Awaited<ReturnType<typeof runJob>>;
  let downloadBytes = 0;
  let redisAround: { before: Counters; after: Counters };
  try {
    // Redis counts at once: read around the job alone (the processes' start-up commands left out).
    const redisBefore = await counters(db.url, redis);
    r = await runJob(stack.url, t, buffers, 'bench');
    redisAround = { before: redisBefore, after: await counters(db.url, redis) };
    const res = await request(`${stack.url}/v1/jobs/${r.id}/results`, { headers: t.auth });
    downloadBytes = Buffer.byteLength(res.body);
  } finally {
    await stack.stop();
  }
  const after = await counters(db.url, redis);
  const { rows: sizes } = await db.pool.query(
    'SELECT coalesce(sum(pg_column_size(p.*)), 0)::float8 AS result FROM prediction_chunks p WHERE p.job_id = $1',
    [r.id],
  );
  const chunks = Math.ceil(r.rows / chunkRows);
  const byCommand = callsBetween(redisAround.before, redisAround.after);
  const uploadBytes = buffers.reduce((a, b) => a + b.length, 0);
  return {
    rows: r.rows, chunks, chunkRows, seconds: r.seconds,
    postgres: {
      transactionsPerChunk: (after.pg.xact - before.pg.xact) / chunks,
      tuplesInsertedPerChunk: (after.pg.ins - before.pg.ins) / chunks,
      tuplesUpdatedPerChunk: (after.pg.upd - before.pg.upd) / chunks,
      tuplesDeletedPerChunk: (after.pg.del - before.pg.del) / chunks,
      walBytesPerRow: (after.pg.wal - before.pg.wal) / r.rows,
    },
    redis: {
      callsPerChunk: Object.values(byCommand).reduce((a, b) => a + b, 0) / chunks,
      byCommandPerChunk: Object.fromEntries(Object.entries(byCommand).sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, v / chunks])),
      bytesInPerChunk: (redisAround.after.redis.bytesIn - redisAround.before.redis.bytesIn) / chunks,
      bytesOutPerChunk: (redisAround.after.redis.bytesOut - redisAround.before.redis.bytesOut) / chunks,
    },
    bytes: { uploadPerRow: uploadBytes / r.rows, storedResultPerRow: sizes[0].result / r.rows, downloadPerRow: downloadBytes / r.rows },
  };
}

const f = (x: number | null | undefined, d = 0) => (x === null || x === undefined || !Number.isFinite(x) ? '—' : x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }));

/** The section of docs/benchmarks.md (scripts/bench/report.ts). */
export function renderScaleOutSection(s: ScaleOutFigures, cores: number): string {
  const base = s.runs.find((r) => !r.viaNginx && r.workers === 1)?.rowsPerSecond;
  const c = s.costs;
  const top = Object.entries(c.redis.byCommandPerChunk).slice(0, 8).map(([k, v]) => `${k} ${f(v, 1)}`).join(', ');
  return `## Scale-out: worker and api processes, and what a row costs (issue 18)

The standard job (${f(s.rows)} rows, one upload) end to end, upload start → job completed, one run
per configuration after warm-up jobs (one per api), against a private Redis (\`scripts/bench/scaleOut.ts\`).
"behind nginx" is Debian's nginx configured from \`deploy/nginx\` as compose runs it. This machine
has ${cores} cores: every process (api, workers, Postgres, Redis, nginx, the bench) shares them, so
workers beyond ${cores} add contention, not throughput; docs/deploy.md ("Sizing, scale-out figures
and the next bottleneck") projects from the per-row costs below instead.

| apis | path | workers | rows/s | vs 1 worker | seconds | upload s | Redis commands per chunk |
| --- | --- | --- | --- | --- | --- | --- | --- |
${s.runs.map((r) => `| ${r.apis} | ${r.viaNginx ? 'behind nginx' : 'direct'} | ${r.workers} | **${f(r.rowsPerSecond)}** | ${base ? `${f(r.rowsPerSecond / base, 2)}×` : '—'} | ${f(r.seconds, 1)} | ${f(r.uploadSeconds, 1)} | ${f(r.redisCallsPerChunk, 1)} |`).join('\n')}

One job is one upload, so one api takes it whatever the number behind nginx. Several uploads at
once (${s.intake[0]?.uploads ?? '—'} of ${f(s.rows / (s.intake[0]?.uploads ?? 1))} rows each, through nginx, no worker running) are
where a second api can help:

| apis behind nginx | uploads at once | rows/s stored | seconds |
| --- | --- | --- | --- |
${s.intake.map((i) => `| ${i.apis} | ${i.uploads} | **${f(i.rowsPerSecond)}** | ${f(i.seconds, 1)} |`).join('\n')}

**Per-row costs** (one job of ${f(c.rows)} rows on one api and two workers, ${f(c.chunks)} chunks of ${f(c.chunkRows)}
rows, on a Postgres cluster of its own with default settings but \`max_wal_size=4GB\` (as compose
runs it), checkpointed first; Postgres counters read before the processes started and after they
stopped, Redis counters around the job). Inserted tuples include TOAST's: a chunk's payload is
stored out of line, about 2 kB a tuple, and deleted once the chunk is done:

| cost | per chunk | per row |
| --- | --- | --- |
| Postgres transactions (pg_stat_database) | ${f(c.postgres.transactionsPerChunk, 1)} | ${f(c.postgres.transactionsPerChunk / c.chunkRows, 4)} |
| Postgres tuples inserted / updated / deleted (TOAST's included) | ${f(c.postgres.tuplesInsertedPerChunk, 1)} / ${f(c.postgres.tuplesUpdatedPerChunk, 1)} / ${f(c.postgres.tuplesDeletedPerChunk, 1)} | ${f(c.postgres.tuplesInsertedPerChunk / c.chunkRows, 3)} / ${f(c.postgres.tuplesUpdatedPerChunk / c.chunkRows, 4)} / ${f(c.postgres.tuplesDeletedPerChunk / c.chunkRows, 3)} |
| Postgres WAL (cluster) | ${f((c.postgres.walBytesPerRow * c.chunkRows) / 1024, 0)} kB | ${f(c.postgres.walBytesPerRow)} B |
| Redis commands executed (BullMQ's Lua scripts' commands included) | ${f(c.redis.callsPerChunk, 1)} | ${f(c.redis.callsPerChunk / c.chunkRows, 4)} |
| Redis bytes in / out | ${f(c.redis.bytesInPerChunk / 1024, 1)} / ${f(c.redis.bytesOutPerChunk / 1024, 1)} kB | ${f(c.redis.bytesInPerChunk / c.chunkRows, 1)} / ${f(c.redis.bytesOutPerChunk / c.chunkRows, 1)} B |
| CSV uploaded | | ${f(c.bytes.uploadPerRow)} B |
| results stored (prediction_chunks) | | ${f(c.bytes.storedResultPerRow, 1)} B |
| results downloaded (CSV) | | ${f(c.bytes.downloadPerRow, 1)} B |

Redis commands per chunk, most frequent first: ${top}.
`;
}
