// Counts of (first, second) class-index pairs: the confusion matrix (true, predicted) and the
// disagreement matrix of two models (a, b). The class count need not be known up front (labels may
// be bare indices), so the dense square grows on demand; indices past DENSE_MAX (only bare-index
// labels can bring them) go to a sparse map, so a stray "1000000" label cannot allocate 8 TB.

/** The largest dense side: 256² counts are 512 KiB, ample for any classifier's label set. */
const DENSE_MAX = 256;

/** [first index, second index, count], sorted by first then second index; plain JSON. */
export type PairTriple = [number, number, number];

export class PairCounts {
  private k: number;
  private dense: Float64Array;
  private sparse: Map<string, number> | null = null;

  constructor(expected = 0) {
    this.k = Math.min(DENSE_MAX, Math.max(8, expected));
    this.dense = new Float64Array(this.k * this.k);
  }

  /** Both indices are non-negative integers (the caller checks). */
  add(a: number, b: number): void {
    const k = this.k;
    if (a < k && b < k) this.dense[a * k + b]++;
    else this.addOutside(a, b);
  }

  private addOutside(a: number, b: number): void {
    const need = Math.max(a, b) + 1;
    if (need > DENSE_MAX) {
      this.sparse ??= new Map();
      const key = `${a},${b}`;
      this.sparse.set(key, (this.sparse.get(key) ?? 0) + 1);
      return;
    }
    const k = this.k;
    const k2 = Math.min(DENSE_MAX, Math.max(need, 2 * k));
    const grown = new Float64Array(k2 * k2);
    for (let i = 0; i < k; i++) grown.set(this.dense.subarray(i * k, (i + 1) * k), i * k2);
    this.k = k2;
    this.dense = grown;
    this.dense[a * k2 + b]++;
  }

  triples(): PairTriple[] {
    const out: PairTriple[] = [];
    const k = this.k;
    for (let i = 0; i < k * k; i++) if (this.dense[i] !== 0) out.push([Math.floor(i / k), i % k, this.dense[i]]);
    if (this.sparse) {
      for (const [key, n] of this.sparse) {
        const [a, b] = key.split(',').map(Number);
        out.push([a, b, n]);
      }
      out.sort(byPair);
    }
    return out;
  }
}

function byPair(x: PairTriple, y: PairTriple): number {
  return x[0] - y[0] || x[1] - y[1];
}

/** The sum of two triple lists, sorted: commutative and associative (counts are exact integers). */
export function mergeTriples(x: readonly PairTriple[], y: readonly PairTriple[]): PairTriple[] {
  const m = new Map<string, PairTriple>();
  for (const list of [x, y]) {
    for (const [a, b, n] of list) {
      const key = `${a},${b}`;
      const t = m.get(key);
      if (t) t[2] += n;
      else m.set(key, [a, b, n]);
    }
  }
  return [...m.values()].sort(byPair);
}
