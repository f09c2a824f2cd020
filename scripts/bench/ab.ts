// npm run bench:ab — single predictions under two or more configurations, measured interleaved (A, B, A, B…)
// so the machine's drift between minutes falls on every variant alike; medians of AB_ROUNDS rounds.
// AB_VARIANTS is a JSON object of variant name → environment, e.g.
//   AB_VARIANTS='{"threads":{"INLINE_INFERENCE_MAX_MS":"0"},"inline":{}}' npm run bench:ab
// First, lone requests paired: every variant's api and worker run at once (each on its own Redis
// prefix), and one client sends AB_PAIRED requests to each in turn, the order rotating, so a
// minute when the machine is slow falls on every variant alike: the median of each, and the median
// of the request-by-request differences from the first variant. Then rounds: each starts an api
// and a worker per variant: one client back to back (lone p50), then 64 clients (saturation, CPU
// per prediction by process); AB_OPEN=1 adds an open loop at 200/s.
// A variant's BENCH_CHECKOUT runs its processes from another checkout, e.g. before and after:
//   git worktree add /tmp/before <commit> && (cd /tmp/before && npm ci)
//   AB_VARIANTS='{"before":{"BENCH_CHECKOUT":"/tmp/before"},"after":{}}' npm run bench:ab
import { randomBytes } from 'node:crypto';
import { baseEnv, createBenchDb, createTenant, dropRedisPrefix, median, registerModel, round, startApi, startWorker } from './common.js';
import { lonePaired, openLoop, saturation } from './online.js';
import { cpuPerUnit, cpuSnapshot } from './cpu.js';

const variants: Record<string, Record<string, string>> = JSON.parse(process.env.AB_VARIANTS ?? '{"a":{},"b":{}}');
const rounds = Number(process.env.AB_ROUNDS ?? 3);
const db = await createBenchDb();
const prefix = `sluice-ab-${randomBytes(4).toString('hex')}`;
const env = baseEnv(db, prefix);
const out: Record<string, { seq: number[]; sat: number[]; apiCpu: number[]; workerCpu: number[]; open: number[] }> = {};
try {
  const tenant = await createTenant(db.pool, 'bench');
  { const api = await startApi(env); await registerModel(api.url, tenant, 'bench'); await api.stop(); }
  const pairs = Number(process.env.AB_PAIRED ?? 600);
  if (pairs > 0) {
    const names = Object.keys(variants);
    const running = await Promise.all(names.map(async (name, i) => {
      const e = { ...env, ...variants[name], REDIS_PREFIX: `${prefix}-p${i}` };
      const api = await startApi(e);
      return { api, worker: await startWorker(e) };
    }));
    try {
      const lone = await lonePaired(running.map((r) => r.api.url), tenant.auth, pairs);
      names.forEach((name, i) => console.log(`paired ${name}: lone p50 ${round(lone.p50[i], 2)} ms${i ? `; paired difference from ${names[0]}: median ${round(lone.diff[i], 3)} ms (95 % ${round(lone.diff95[i][0], 3)} to ${round(lone.diff95[i][1], 3)})` : ''}`));
    } finally {
      await Promise.all(running.flatMap((r) => [r.worker.stop(), r.api.stop()]));
    }
  }
  for (let r = 0; r < rounds; r++) {
    for (const [name, extra] of Object.entries(variants)) {
      const e = { ...env, ...extra };
      const api = await startApi(e);
      const worker = await startWorker(e);
      try {
        await openLoop(api.url, tenant.auth, 100, 1, 0);
        const o = (out[name] ??= { seq: [], sat: [], apiCpu: [], workerCpu: [], open: [] });
        const s = await saturation(api.url, tenant.auth, 1, 2, 0);
        o.seq.push(s.p50);
        if (process.env.AB_OPEN) o.open.push((await openLoop(api.url, tenant.auth, 200, 3)).p50);
        const roles = { api: api.pid, worker: worker.pid, bench: process.pid };
        const b = cpuSnapshot(roles, db.name);
        const sat = await saturation(api.url, tenant.auth, 64, 3, 0.5);
        const c = cpuPerUnit(b, cpuSnapshot(roles, db.name), sat.ok);
        o.sat.push(sat.perSecond); o.apiCpu.push(c.api); o.workerCpu.push(c.worker);
        console.error(`round ${r} ${name}: seq p50 ${round(s.p50, 2)}${o.open.length ? ` open200 p50 ${round(o.open.at(-1)!, 2)}` : ''} sat ${round(sat.perSecond)}/s api ${round(c.api, 2)} worker ${round(c.worker, 2)} ms/pred`);
      } finally {
        await worker.stop();
        await api.stop();
      }
    }
  }
  for (const [name, o] of Object.entries(out)) console.log(`${name}: lone p50 ${round(median(o.seq), 2)} ms${o.open.length ? ` open200 p50 ${round(median(o.open), 2)}` : ''}; saturation ${round(median(o.sat))}/s; api ${round(median(o.apiCpu), 3)} worker ${round(median(o.workerCpu), 3)} ms CPU/pred`);
} finally {
  await db.drop();
  await dropRedisPrefix(prefix);
  for (let i = 0; i < Object.keys(variants).length; i++) await dropRedisPrefix(`${prefix}-p${i}`);
  process.exit(0);
}
