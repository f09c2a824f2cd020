import { expect } from 'vitest';
import { seededRandom } from '../../scripts/train/datasets.js';

/** A seeded generator (mulberry32, the demo split's), so a failure reproduces. */
export const rng = seededRandom;

/** |actual − expected| within 1e-12 of `scale` (by default |expected|): the relative bound the metrics promise. */
export function expectClose(actual: number | null, expected: number, scale = Math.abs(expected)): void {
  expect(actual).not.toBeNull();
  expect(Math.abs((actual as number) - expected)).toBeLessThanOrEqual(1e-12 * scale + 1e-300);
}

/** Split [0, n) into consecutive pieces of random sizes (some empty). */
export function randomSplits(n: number, rand: () => number, pieces: number): [number, number][] {
  const cuts = Array.from({ length: pieces - 1 }, () => Math.floor(rand() * (n + 1))).sort((a, b) => a - b);
  const bounds = [0, ...cuts, n];
  return bounds.slice(1).map((end, i) => [bounds[i], end]);
}

export function shuffle<T>(xs: T[], rand: () => number): T[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** Every way the commit might combine the chunks: left fold, right fold, shuffled, pairwise tree; each through a JSON round trip as jsonb would. */
export function mergeOrders<P>(parts: P[], merge: (a: P, b: P) => P, rand: () => number): P[] {
  const json = (p: P): P => JSON.parse(JSON.stringify(p)) as P;
  const ps = parts.map(json);
  const left = ps.reduce((a, b) => merge(a, b));
  const right = ps.reduceRight((a, b) => merge(b, a));
  const shuffled = shuffle(ps, rand).reduce((a, b) => json(merge(a, b)));
  let level = ps;
  while (level.length > 1) {
    const next: P[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(i + 1 < level.length ? merge(level[i + 1], level[i]) : level[i]);
    level = next;
  }
  return [left, right, shuffled, level[0]];
}

/** Two reports alike: every number within 1e-12 relative (counts are integers, so exact), everything else equal. */
export function expectSameReport(a: unknown, b: unknown, path = '$'): void {
  if (typeof a === 'number' && typeof b === 'number') {
    if (Number.isInteger(a) && Number.isInteger(b)) expect(a, path).toBe(b);
    else expect(Math.abs(a - b), path).toBeLessThanOrEqual(1e-12 * Math.max(Math.abs(a), Math.abs(b)));
    return;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    expect(a.length, path).toBe(b.length);
    a.forEach((x, i) => expectSameReport(x, b[i], `${path}[${i}]`));
    return;
  }
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    expect(Object.keys(a).sort(), path).toEqual(Object.keys(b).sort());
    for (const k of Object.keys(a)) expectSameReport((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${path}.${k}`);
    return;
  }
  expect(a, path).toEqual(b);
}
