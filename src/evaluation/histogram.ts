// The residual histogram's bins are fixed and data-independent, so chunk partials merge by adding
// counts. Bin 0 holds residuals of exactly 0. Otherwise |r| falls in a magnitude bin m (1..MAG_BINS)
// with edges 2^(k/2), k = K_MIN..K_MAX (about 9.5e-7 to 1.1e12, two bins per doubling); m = 1 is
// (0, 2^(K_MIN/2)), m = MAG_BINS is [2^(K_MAX/2), ∞). The signed bin id is ±m by the residual's sign.

const K_MIN = -40;
const K_MAX = 80;
const EDGES = Float64Array.from({ length: K_MAX - K_MIN + 1 }, (_, i) => 2 ** ((K_MIN + i) / 2));
const LAST = EDGES.length - 1;
/** Magnitude bins per sign: the underflow bin, one per pair of neighbouring edges, the overflow bin. */
export const MAG_BINS = EDGES.length + 1;

/** Magnitude bin of a > 0 (an Infinity goes to the overflow bin). */
function magnitudeBin(a: number): number {
  if (a < EDGES[0]) return 1;
  if (a >= EDGES[LAST]) return MAG_BINS;
  // log2 gives the bin up to rounding; the edge table decides, so binning agrees with the reported edges.
  let i = Math.floor(2 * Math.log2(a)) - K_MIN;
  if (i < 0) i = 0;
  else if (i > LAST - 1) i = LAST - 1;
  while (i > 0 && a < EDGES[i]) i--;
  while (i < LAST - 1 && a >= EDGES[i + 1]) i++;
  return i + 2;
}

/** The signed bin id of a residual: 0, or ±(1..MAG_BINS). */
export function residualBin(r: number): number {
  if (r === 0) return 0;
  return r > 0 ? magnitudeBin(r) : -magnitudeBin(-r);
}

/** A bin's range; null is an open end (only the outermost bins have one). */
export function binRange(id: number): { from: number | null; to: number | null } {
  if (id === 0) return { from: 0, to: 0 };
  const m = Math.abs(id);
  const lo = m === 1 ? 0 : EDGES[m - 2];
  const hi = m === MAG_BINS ? null : EDGES[m - 1];
  if (id > 0) return { from: lo, to: hi };
  return { from: hi === null ? null : -hi, to: lo === 0 ? 0 : -lo };
}
