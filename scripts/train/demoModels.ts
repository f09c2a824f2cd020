// The two demo models, trained from scratch, deterministically: the same bytes on every run.
// Run directly (`tsx scripts/train/demoModels.ts [dir]`) it writes model, signature and
// held-out CSV files for each.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { SignatureSchema, type Signature } from '../../src/models/signature.js';
import { loadCars, loadPenguins, matrix, PENGUIN_FEATURES, split, toCsv, zScore, zStats, type Row, type Table } from './datasets.js';
import { exportLinearRegression, exportSoftmaxRegression } from './export.js';
import { predictLinear, regressionMetrics, trainLinearRegression } from './linearRegression.js';
import { argmax, classificationMetrics, predictProba, trainSoftmax, type ClassMetrics } from './softmax.js';

const SEED = 42;
const TEST_FRACTION = 0.2;

export interface DataMetrics {
  /** Rows in the dataset file. */
  rows: number;
  /** Rows dropped for a null target or feature (see datasets.ts). */
  dropped: number;
  train: number;
  test: number;
}

export interface CarsMetrics extends DataMetrics {
  rmse: number;
  r2: number;
  trainCost: number;
}

export interface PenguinsMetrics extends DataMetrics {
  accuracy: number;
  perClass: Record<string, ClassMetrics>;
  trainLoss: number;
}

export interface DemoModel<Name extends string, M> {
  name: Name;
  onnx: Uint8Array;
  signature: Signature;
  metrics: M;
  /** Held-out rows as CSV: `id`, the feature columns, then the true target. */
  holdoutCsv: string;
  holdout: Row[];
}

export interface DemoModels {
  cars: DemoModel<'cars', CarsMetrics>;
  penguins: DemoModel<'penguins', PenguinsMetrics>;
}

function prepare(table: Table) {
  const { train, test } = split(table.rows, TEST_FRACTION, SEED);
  // Statistics of the training rows only: they travel in the signature, the graph never sees raw values.
  const stats = zStats(matrix(train, table.features));
  const data: DataMetrics = { rows: table.total, dropped: table.dropped, train: train.length, test: test.length };
  const holdout = test.map((r) => Object.fromEntries(['id', ...table.features, table.target].map((k) => [k, r[k]])));
  return { train, test, stats, data, holdout, holdoutCsv: toCsv(holdout, ['id', ...table.features, table.target]) };
}

function trainCars(): DemoModels['cars'] {
  const table = loadCars();
  const { train, test, stats, data, holdout, holdoutCsv } = prepare(table);
  const y = (rows: Row[]) => rows.map((r) => Number(r[table.target]));
  const model = trainLinearRegression(zScore(matrix(train, table.features), stats), y(train), { alpha: 0.1, iterations: 2000 });
  const { rmse, r2 } = regressionMetrics(predictLinear(model, zScore(matrix(test, table.features), stats)), y(test));
  const signature = SignatureSchema.parse({
    columns: table.features,
    dtype: 'float32',
    mean: stats.mean,
    std: stats.std,
    task: 'regression',
    output: 'variable',
    passthrough: ['id'],
  });
  return { name: 'cars', onnx: exportLinearRegression(model), signature, metrics: { ...data, rmse, r2, trainCost: model.cost }, holdoutCsv, holdout };
}

function trainPenguins(features?: string[]): DemoModels['penguins'] {
  const all = loadPenguins();
  const table = features ? { ...all, features } : all;
  const { train, test, stats, data, holdout, holdoutCsv } = prepare(table);
  const classes = [...new Set(table.rows.map((r) => String(r[table.target])))].sort();
  const y = (rows: Row[]) => rows.map((r) => classes.indexOf(String(r[table.target])));
  const model = trainSoftmax(zScore(matrix(train, table.features), stats), y(train), classes.length, { alpha: 0.5, iterations: 500 });
  const predicted = predictProba(model, zScore(matrix(test, table.features), stats)).map(argmax);
  const signature = SignatureSchema.parse({
    columns: table.features,
    dtype: 'float32',
    mean: stats.mean,
    std: stats.std,
    task: 'classification',
    output: 'probabilities',
    labels: classes,
    passthrough: ['id'],
  });
  return {
    name: 'penguins',
    onnx: exportSoftmaxRegression(model),
    signature,
    metrics: { ...data, ...classificationMetrics(predicted, y(test), classes), trainLoss: model.loss },
    holdoutCsv,
    holdout,
  };
}

export function trainDemoModels(): DemoModels {
  return { cars: trainCars(), penguins: trainPenguins() };
}

/**
 * A second penguins model for the lifecycle walk-through (docs/lifecycle.md): trained on the beak
 * alone (two of the four measurements), on the same split. A cheaper candidate that is a little
 * worse — what evaluation, comparison and a canary are for. Its signature reads other columns
 * than the first model's, so comparing the two prepares each row twice.
 */
export function trainPenguinsBeakOnly(): DemoModels['penguins'] {
  return trainPenguins(PENGUIN_FEATURES.slice(0, 2));
}

/**
 * The files the README's commands use, written to `dir`: for each model `<name>.onnx`,
 * `<name>.signature.json` (exactly what the demo registers) and `<name>.csv` (its held-out rows,
 * with the true target as an extra column); and two penguins variants: `penguins-eu.csv` (the same
 * rows as a European spreadsheet exports them: `;` between cells, `,` as the decimal mark) and
 * `penguins-with-errors.csv` (ten rows, two of them broken, for the error summary and
 * `?only=errors`); and `penguins-beak.onnx` with its signature, the candidate of docs/lifecycle.md.
 * Returns the file names.
 */
export function writeDemoFiles(models: DemoModels, dir: string): string[] {
  const files: Record<string, string | Uint8Array> = {};
  for (const m of Object.values(models)) {
    files[`${m.name}.onnx`] = m.onnx;
    files[`${m.name}.signature.json`] = JSON.stringify(m.signature, null, 2) + '\n';
    files[`${m.name}.csv`] = m.holdoutCsv;
  }
  const p = models.penguins;
  const columns = ['id', ...PENGUIN_FEATURES, 'Species'];
  const eu = p.holdout.map((r) => Object.fromEntries(columns.map((c) => [c, typeof r[c] === 'number' ? String(r[c]).replace('.', ',') : r[c]])));
  files['penguins-eu.csv'] = toCsv(eu, columns, ';');
  const broken = p.holdout.slice(0, 10).map((r) => ({ ...r }));
  broken[3]['Body Mass (g)'] = 'heavy';
  broken[7]['Beak Depth (mm)'] = '';
  files['penguins-with-errors.csv'] = toCsv(broken, columns);
  // The second penguins model of docs/lifecycle.md: push it, evaluate it, canary it, compare, roll back.
  const beak = trainPenguinsBeakOnly();
  files['penguins-beak.onnx'] = beak.onnx;
  files['penguins-beak.signature.json'] = JSON.stringify(beak.signature, null, 2) + '\n';
  for (const [name, data] of Object.entries(files)) writeFileSync(join(dir, name), data);
  return Object.keys(files);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const dir = process.argv[2] ?? '.demo';
  mkdirSync(dir, { recursive: true });
  const models = trainDemoModels();
  writeDemoFiles(models, dir);
  for (const m of Object.values(models)) console.log(m.name, JSON.stringify(m.metrics));
}
