// Single items: POST /v1/predictions with `wait`, at a fixed offered load (open loop: requests go
// out on schedule whether or not earlier ones have answered, and latency counts from the scheduled
// send, so a stall is not hidden by the load generator slowing down) and at saturation (C clients
// each sending back to back).
import { COLUMNS, now, percentile, request, rng } from './common.js';

export interface OpenLoop {
  rate: number;
  seconds: number;
  sent: number;
  ok: number;
  errors: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}
export interface Saturation {
  clients: number;
  seconds: number;
  ok: number;
  errors: number;
  perSecond: number;
  p50: number;
  p99: number;
}

function bodies(n: number, model: string, wait: number): string[] {
  const r = rng(42);
  return Array.from({ length: n }, () =>
    JSON.stringify({ model, wait, inputs: [Object.fromEntries(COLUMNS.map((c) => [c, Number(((r() - 0.5) * 8).toFixed(4))]))] }),
  );
}

async function post(url: string, headers: Record<string, string>, body: string): Promise<boolean> {
  try {
    const res = await request(url, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body });
    return res.status === 200 && res.body.includes('"predictions"');
  } catch {
    return false;
  }
}

export async function openLoop(base: string, headers: Record<string, string>, rate: number, seconds: number, warmSeconds = 1): Promise<OpenLoop> {
  const url = `${base}/v1/predictions`;
  const total = Math.round(rate * (seconds + warmSeconds));
  const warm = Math.round(rate * warmSeconds);
  const payloads = bodies(256, 'bench', 10);
  const latencies: number[] = [];
  let ok = 0;
  let errors = 0;
  const inflight: Promise<void>[] = [];
  const t0 = now();
  let i = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const due = Math.min(total, Math.floor(((now() - t0) / 1000) * rate) + 1);
      for (; i < due; i++) {
        const scheduled = t0 + (i / rate) * 1000;
        const k = i;
        inflight.push(
          post(url, headers, payloads[k % payloads.length]).then((good) => {
            if (k < warm) return;
            if (good) ok++, latencies.push(now() - scheduled);
            else errors++;
          }),
        );
      }
      if (i >= total) resolve();
      else setTimeout(tick, 1);
    };
    tick();
  });
  await Promise.all(inflight);
  return {
    rate, seconds, sent: total - warm, ok, errors,
    p50: percentile(latencies, 50), p95: percentile(latencies, 95), p99: percentile(latencies, 99), max: percentile(latencies, 100),
  };
}

export async function saturation(base: string, headers: Record<string, string>, clients: number, seconds: number, warmSeconds = 1): Promise<Saturation> {
  const url = `${base}/v1/predictions`;
  const payloads = bodies(256, 'bench', 10);
  const start = now();
  const measureFrom = start + warmSeconds * 1000;
  const end = measureFrom + seconds * 1000;
  let ok = 0;
  let errors = 0;
  const latencies: number[] = [];
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      let k = c;
      while (now() < end) {
        const t = now();
        const good = await post(url, headers, payloads[k++ % payloads.length]);
        if (t < measureFrom) continue;
        if (good) ok++, latencies.push(now() - t);
        else errors++;
      }
    }),
  );
  const elapsed = (now() - measureFrom) / 1000;
  return { clients, seconds: elapsed, ok, errors, perSecond: ok / elapsed, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

/**
 * Lone requests to several apis in turn (one at a time; each round visits every api, in an order
 * rotated round by round): per api the median, and the median of the round-by-round
 * differences from the first api (0 for the first) with its 95 % interval. For before/after on a machine whose speed
 * drifts from minute to minute: the drift falls on every api alike.
 */
export async function lonePaired(bases: string[], headers: Record<string, string>, rounds: number, warm = 200): Promise<{ p50: number[]; diff: number[]; diff95: [number, number][] }> {
  const payloads = bodies(256, 'bench', 10);
  const one = async (base: string, k: number) => {
    const t = now();
    if (!(await post(`${base}/v1/predictions`, headers, payloads[k % payloads.length]))) throw new Error(`a lone prediction to ${base} failed`);
    return now() - t;
  };
  for (let k = 0; k < warm; k++) for (const b of bases) await one(b, k);
  const times: number[][] = bases.map(() => []);
  for (let k = 0; k < rounds; k++) {
    // Rotated, so each api comes first, last and between others equally often.
    const order = bases.map((_, i) => (i + k) % bases.length);
    for (const i of order) times[i].push(await one(bases[i], k));
  }
  const diffs = times.map((t) => t.map((x, k) => x - times[0][k]));
  return { p50: times.map((t) => percentile(t, 50)), diff: diffs.map((d) => percentile(d, 50)), diff95: diffs.map((d) => bootstrapMedian95(d)) };
}

/** A 95 % interval of a median, by resampling (the bench's seeded PRNG, so a run repeats itself). */
function bootstrapMedian95(xs: number[], resamples = 400): [number, number] {
  const r = rng(9);
  const medians = Array.from({ length: resamples }, () => percentile(Array.from(xs, () => xs[Math.floor(r() * xs.length)]), 50));
  return [percentile(medians, 2.5), percentile(medians, 97.5)];
}
