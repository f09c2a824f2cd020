// How numbers, sizes, times and durations read on the dashboard: plain functions, no locale surprises.

const nf = new Intl.NumberFormat('en-US');
const nf3 = new Intl.NumberFormat('en-US', { maximumFractionDigits: 3 });

export const count = (n: number | null | undefined) => (n === null || n === undefined ? '—' : nf.format(n));
export const figure = (n: number | null | undefined, digits = 3) => (n === null || n === undefined || !Number.isFinite(n) ? '—' : digits === 3 ? nf3.format(n) : n.toFixed(digits));
export const percent = (f: number | null | undefined, digits = 1) => (f === null || f === undefined ? '—' : `${(f * 100).toFixed(digits)} %`);

export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return '—';
  if (n < 1024) return `${n} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

export function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '—';
  if (seconds < 1) return '< 1 s';
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ${Math.round((seconds % 3600) / 60)} min`;
  return `${Math.floor(seconds / 86400)} d ${Math.round((seconds % 86400) / 3600)} h`;
}

/** "3 min ago" from an ISO time and the current time in ms. */
export function age(iso: string | null | undefined, now: number): string {
  if (!iso) return '—';
  const s = Math.max(0, (now - Date.parse(iso)) / 1000);
  return s < 5 ? 'just now' : `${duration(s)} ago`;
}

export const time = (iso: string | null | undefined) => (iso ? new Date(iso).toLocaleString('en-GB', { dateStyle: 'medium', timeStyle: 'medium' }) : '—');

export const rate = (perSecond: number | null | undefined) => (perSecond === null || perSecond === undefined ? '—' : `${nf.format(Math.round(perSecond))} rows/s`);
