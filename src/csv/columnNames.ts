// How a header's names meet a signature's columns. Spreadsheets and exports change what a person
// cannot see: "Age" becomes "age", an accented name arrives decomposed (e + U+0301) from one tool
// and composed from another. Names are compared by their key: Unicode NFC, then lower case (the
// header parser has already trimmed them). The job keeps the header as sent; only matching folds.

export const columnKey = (name: string): string => name.normalize('NFC').toLowerCase();

export interface HeaderMatch {
  /** Position in the header of each wanted column, -1 when absent. */
  at: number[];
  /** Wanted columns the header lacks. */
  missing: string[];
  /** Wanted columns the header holds more than once (by key): which one to read would be a guess. */
  duplicated: string[];
}

export function matchHeader(header: readonly string[], wanted: readonly string[]): HeaderMatch {
  const positions = new Map<string, number[]>();
  header.forEach((h, i) => {
    const k = columnKey(h);
    const list = positions.get(k);
    if (list) list.push(i);
    else positions.set(k, [i]);
  });
  const at = wanted.map((w) => positions.get(columnKey(w))?.[0] ?? -1);
  return {
    at,
    missing: wanted.filter((_, i) => at[i] === -1),
    duplicated: [...new Set(wanted.filter((w) => (positions.get(columnKey(w))?.length ?? 0) > 1))],
  };
}

/** The header name closest to `name` (edit distance on keys), when it is close enough to be a likely typo. */
export function closestName(name: string, header: readonly string[]): string | null {
  const k = columnKey(name);
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const h of header) {
    const d = editDistance(k, columnKey(h));
    if (d < bestDistance) (best = h), (bestDistance = d);
  }
  return best !== null && bestDistance <= Math.max(2, Math.floor(k.length / 3)) ? best : null;
}

// Levenshtein distance, two rows at a time; names are short (a header is capped at MAX_COLUMNS).
function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 16) return Infinity;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}
