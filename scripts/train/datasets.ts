// The demo datasets (vega-datasets, read from disk: no network) and the deterministic data
// plumbing the trainers share: seeded shuffle, split, z-score statistics, CSV writing.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export type Row = Record<string, unknown>;

function readDataset(file: string): Row[] {
  // The package's data/ folder sits next to its build/ entry point.
  const url = new URL(`../data/${file}`, import.meta.resolve('vega-datasets'));
  return JSON.parse(readFileSync(fileURLToPath(url), 'utf8')) as Row[];
}

export interface Table {
  /** Rows kept, with the original dataset index as `id`. */
  rows: Row[];
  features: string[];
  target: string;
  /** Rows in the file. */
  total: number;
  /** Rows dropped because the target or a feature was null. */
  dropped: number;
}

function keepComplete(raw: Row[], features: string[], target: string, map: (r: Row) => Row = (r) => r): Table {
  const rows: Row[] = [];
  raw.forEach((r, i) => {
    const m = map(r);
    if ([target, ...features].every((k) => m[k] !== null && m[k] !== undefined)) rows.push({ id: String(i), ...m });
  });
  return { rows, features, target, total: raw.length, dropped: raw.length - rows.length };
}

export const CAR_FEATURES = ['Cylinders', 'Displacement', 'Horsepower', 'Weight_in_lbs', 'Acceleration', 'Year'];

/**
 * cars: Miles_per_Gallon from the numeric columns. Year is an ISO date ("1970-01-01") in the
 * file and becomes the model year as a number (1970). 14 of 406 rows have a null
 * Miles_per_Gallon or Horsepower and are dropped: imputing the target would invent labels.
 */
export function loadCars(): Table {
  return keepComplete(readDataset('cars.json'), CAR_FEATURES, 'Miles_per_Gallon', (r) => ({
    ...r,
    Year: typeof r.Year === 'string' ? Number(r.Year.slice(0, 4)) : r.Year,
  }));
}

export const PENGUIN_FEATURES = ['Beak Length (mm)', 'Beak Depth (mm)', 'Flipper Length (mm)', 'Body Mass (g)'];

/** penguins: Species from the four body measurements; the 2 rows missing all measurements are dropped (Sex, also sometimes null, is not used). */
export function loadPenguins(): Table {
  return keepComplete(readDataset('penguins.json'), PENGUIN_FEATURES, 'Species');
}

/** mulberry32: a tiny seeded PRNG, so splits are identical on every run and machine. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function split<T>(rows: T[], testFraction: number, seed: number): { train: T[]; test: T[] } {
  const rand = seededRandom(seed);
  const shuffled = [...rows];
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [shuffled[i], shuffled[j]] = [shuffled[j], shuffled[i]];
  }
  const nTest = Math.round(rows.length * testFraction);
  return { test: shuffled.slice(0, nTest), train: shuffled.slice(nTest) };
}

export const matrix = (rows: Row[], features: string[]) => rows.map((r) => features.map((f) => Number(r[f])));

/** Per-column mean and (population) standard deviation of the training rows. */
export function zStats(x: number[][]): { mean: number[]; std: number[] } {
  const m = x.length;
  const mean = x[0].map((_, j) => x.reduce((s, r) => s + r[j], 0) / m);
  const std = mean.map((mu, j) => Math.sqrt(x.reduce((s, r) => s + (r[j] - mu) ** 2, 0) / m) || 1);
  return { mean, std };
}

export const zScore = (x: number[][], s: { mean: number[]; std: number[] }) => x.map((r) => r.map((v, j) => (v - s.mean[j]) / s.std[j]));

const csvField = (v: unknown, delimiter: string) => {
  const s = String(v ?? '');
  return s.includes(delimiter) || /["\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

export function toCsv(rows: Row[], columns: string[], delimiter = ','): string {
  return [columns, ...rows.map((r) => columns.map((c) => r[c]))].map((cells) => cells.map((v) => csvField(v, delimiter)).join(delimiter)).join('\n') + '\n';
}
