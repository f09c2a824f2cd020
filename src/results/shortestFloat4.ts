// Scores are stored as float4 (resultRows.ts) and shown as Postgres prints a real: the shortest
// decimal that reads back as the same float4. Printing that in doubles is quick but has corner
// cases (ties, powers of two, extreme magnitudes) that need the exact decimal expansion.

/**
 * The number with the fewest significant digits that reads back as the float4 `x`, the closest to x
 * of those, as Postgres prints a real (its Ryu shortest form), so scores read as they did when each
 * row was a real[] in Postgres. The quick way, in doubles: x scaled by a power of ten to p digits
 * before the point, rounded, and scaled back (exact powers of ten, so the division rounds once,
 * as reading the decimal would); the fewest p that reads back is found by halving the range (for x
 * not a power of two its neighbours are evenly spaced, so once a precision reads back every finer
 * one does). Whatever that cannot settle takes the exact way: a power of two (unevenly spaced
 * neighbours), a scaled value within rounding error of a half (a tie, which Ryu rounds to even),
 * and magnitudes whose powers of ten are not exact doubles.
 */
export function shortestFloat4(x: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  f32[0] = x;
  const bits = i32[0];
  if ((bits & 0x7fffff) === 0) return exactShortestFloat4(x);
  const ax = Math.abs(x);
  let e = Math.floor(Math.log10(ax));
  if (e < -13 || e > 13) return exactShortestFloat4(x);
  // log10 may land one off next to a power of ten: settle e so that 10^e <= ax < 10^(e+1).
  if (ax < (e >= 0 ? POW10_EXACT[e] : 1 / POW10_EXACT[-e])) e--;
  else if (ax >= (e + 1 >= 0 ? POW10_EXACT[e + 1] : 1 / POW10_EXACT[-e - 1])) e++;
  const [low, high] = halfways(x);
  let lo = 1;
  let hi = 9;
  let near = false;
  while (lo < hi) {
    const p = (lo + hi) >> 1;
    const c = roundedTo(ax, p - 1 - e);
    if (c !== c) near = true;
    const v = x < 0 ? -c : c;
    if (readsBack(v, x, low, high)) hi = p;
    else lo = p + 1;
  }
  const y = roundedTo(ax, lo - 1 - e);
  if (y !== y || near) return exactShortestFloat4(x);
  return x < 0 ? -y : y;
}

/** ax rounded to the power-of-ten scale k (ax * 10^k rounded to an integer, scaled back); NaN within rounding error of a tie. */
function roundedTo(ax: number, k: number): number {
  const scaled = k >= 0 ? ax * POW10_EXACT[k] : ax / POW10_EXACT[-k];
  const fraction = scaled - Math.floor(scaled);
  if (fraction > 0.5 - 1e-6 && fraction < 0.5 + 1e-6) return NaN;
  const c = Math.round(scaled);
  return k >= 0 ? c / POW10_EXACT[k] : c * POW10_EXACT[-k];
}

// 10^0 .. 10^22: the powers of ten a double holds exactly.
const POW10_EXACT = Array.from({ length: 23 }, (_, k) => Number(`1e${k}`));

/** Whether y reads back as the float4 x without being exactly halfway to a neighbour of it (halfways(x)). */
function readsBack(y: number, x: number, low: number, high: number): boolean {
  return Math.fround(y) === x && y !== low && y !== high;
}

/**
 * shortestFloat4 worked on x's exact decimal expansion: a decimal exactly halfway to a neighbouring
 * float4 does not count, and of two equally close the one ending in an even digit wins.
 */
export function exactShortestFloat4(x: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  const { digits, exponent } = exactDecimal(Math.abs(x));
  const sign = x < 0 ? '-' : '';
  const [low, high] = halfways(x);
  for (let p = 1; p <= digits.length; p++) {
    const lower = BigInt(digits.slice(0, p));
    const rest = digits.slice(p);
    // Which p-digit neighbour of x is closer: the rest of the digits against one half.
    const half = rest === '' ? -1 : rest[0] > '5' || (rest[0] === '5' && /[1-9]/.test(rest.slice(1))) ? 1 : rest[0] === '5' ? 0 : -1;
    const upFirst = half > 0 || (half === 0 && lower % 2n === 1n);
    const candidates = rest === '' ? [lower] : upFirst ? [lower + 1n, lower] : [lower, lower + 1n];
    for (const c of candidates) {
      // c has p digits (or p + 1 when rounding up carried: 99 → 100, the same value scaled).
      const y = Number(`${sign}${c}e${exponent - p + 1}`);
      if (readsBack(y, x, low, high)) return y;
    }
  }
  return x;
}

/** The exact decimal value of a positive finite double: its significant digits and the power of ten of the first. */
function exactDecimal(x: number): { digits: string; exponent: number } {
  f64[0] = x;
  const raw = u64[0];
  const biased = Number(raw >> 52n);
  const fraction = raw & ((1n << 52n) - 1n);
  const mantissa = biased === 0 ? fraction : fraction | (1n << 52n);
  const e = (biased === 0 ? 1 : biased) - 1075;
  // x = mantissa * 2^e = mantissa * 5^-e / 10^-e when e < 0.
  const [n, scale] = e >= 0 ? [mantissa << BigInt(e), 0] : [mantissa * 5n ** BigInt(-e), -e];
  const all = n.toString();
  return { digits: all.replace(/0+$/, ''), exponent: all.length - 1 - scale };
}

const f64 = new Float64Array(1);
const u64 = new BigUint64Array(f64.buffer);
const f32 = new Float32Array(1);
const i32 = new Int32Array(f32.buffer);
/** The points halfway from the float4 x (finite, not zero) to the float4s on either side of it. */
function halfways(x: number): [number, number] {
  f32[0] = x;
  const b = i32[0];
  i32[0] = b - 1;
  const one = (x + f32[0]) / 2;
  i32[0] = b + 1;
  return [one, (x + f32[0]) / 2];
}
