// How numbers, sizes and times read in the CLI's plain output.

const int = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

export const n = (x: number) => int.format(x);

export function bytes(x: number): string {
  if (x < 1000) return `${x} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = x / 1000;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) (v /= 1000), u++;
  return `${v.toFixed(v < 10 ? 2 : 1)} ${units[u]}`;
}

export function seconds(s: number | null): string {
  if (s === null || !Number.isFinite(s)) return '?';
  if (s === 0) return '0s';
  if (s < 1) return `${Math.round(s * 1000)}ms`;
  if (s < 10) return `${s.toFixed(1)}s`;
  if (s < 60) return `${Math.round(s)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

export const percent = (f: number | null) => (f === null ? '  ?%' : `${Math.floor(f * 100).toString().padStart(3)}%`);

/** Columns padded to their widest cell, two spaces apart; the last column is not padded. */
export function table(header: string[], rows: string[][]): string {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return all.map((r) => r.map((c, i) => (i === r.length - 1 ? c : (c ?? '').padEnd(widths[i]))).join('  ').trimEnd()).join('\n');
}

export const date = (iso: string | null) => (iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '-');
