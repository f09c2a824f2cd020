import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKey } from '../../src/auth/tenants.js';
import { trainDemoModels, trainPenguinsBeakOnly } from '../../scripts/train/demoModels.js';
import { linearRegression } from '../fixtures/onnxBuilder.js';
import { client } from '../helpers/api.js';
import { createTestEnv, type TestEnv } from '../helpers/env.js';
import { killAll, startApi, startWorker, type Proc } from '../helpers/processes.js';
import { readCsv, scoreDirectly } from '../pipeline/helpers.js';

// Evaluation and compare jobs through real api and worker processes: the figures Sluice reports
// equal those computed here from onnxruntime's own outputs and the labels (counts exactly, means
// within 1e-9), though Sluice takes them per chunk in the worker and merges them in the commit.
let env: TestEnv;
let api: Proc & { url: string };
let c: ReturnType<typeof client>;
const demo = trainDemoModels();
const beak = trainPenguinsBeakOnly();
const labels = demo.penguins.signature.labels!;

beforeAll(async () => {
  // Chunks of 20 rows: every job below is merged from several chunks' partial figures.
  env = await createTestEnv({ CHUNK_ROWS: '20', INFERENCE_THREADS: '1' });
  api = await startApi(env.env);
  await startWorker(env.env);
  c = client(api.url, (await createKey(env.pool, 'acme')).key);
  for (const [name, m] of [['penguins', demo.penguins], ['penguins', beak], ['cars', demo.cars]] as const) {
    expect((await c.registerModel(name, m.onnx, m.signature)).status).toBe(201);
  }
  // cars:2 feeds its input exactly as cars:1 does (same signature): compared on the same tensors.
  const weights = demo.cars.signature.columns!.map((_, i) => (i % 2 ? 0.8 : -1.1));
  expect((await c.registerModel('cars', linearRegression(weights, 23.5), demo.cars.signature)).status).toBe(201);
}, 120_000);
afterAll(async () => {
  await killAll();
  await env?.close();
});

async function submit(query: string, csv: string) {
  const res = await c.postCsv(`/v1/jobs?${query}`, csv);
  const body = await res.json();
  expect(res.status, JSON.stringify(body)).toBe(202);
  return c.waitForJob(body.id);
}

const close = (got: number, want: number) => expect(Math.abs(got - want)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(want)));
const argmax = (p: number[]) => p.indexOf(Math.max(...p));

/** Accuracy, per-class figures, macro/weighted F1, confusion and log loss written out plainly. */
function classificationFigures(truth: number[], probs: number[][]) {
  const pred = probs.map(argmax);
  const classes = [...new Set([...truth, ...pred])].sort((a, b) => a - b);
  const n = truth.length;
  const perClass = classes.map((k) => {
    const tp = truth.filter((t, i) => t === k && pred[i] === k).length;
    const support = truth.filter((t) => t === k).length;
    const predicted = pred.filter((p) => p === k).length;
    const precision = predicted ? tp / predicted : 0;
    const recall = support ? tp / support : 0;
    const f1 = precision + recall ? (2 * precision * recall) / (precision + recall) : 0;
    return { label: labels[k], precision, recall, f1, support };
  });
  return {
    accuracy: truth.filter((t, i) => t === pred[i]).length / n,
    perClass,
    macro: perClass.reduce((a, p) => a + p.f1, 0) / perClass.length,
    weighted: perClass.reduce((a, p) => a + p.f1 * p.support, 0) / n,
    logLoss: truth.reduce((a, t, i) => a - Math.log(Math.min(1, Math.max(1e-15, probs[i][t]))), 0) / n,
    confusion: classes.map((t) => classes.map((p) => truth.filter((x, i) => x === t && pred[i] === p).length)),
    classes,
  };
}

function expectClassification(e: Record<string, any>, want: ReturnType<typeof classificationFigures>) {
  close(e.accuracy, want.accuracy);
  close(e.macro_f1, want.macro);
  close(e.weighted_f1, want.weighted);
  close(e.log_loss, want.logLoss);
  expect(e.confusion_matrix).toEqual({ labels: want.classes.map((k) => labels[k]), counts: want.confusion });
  expect(e.per_class.map((p: { label: string; support: number }) => [p.label, p.support])).toEqual(want.perClass.map((p) => [p.label, p.support]));
  e.per_class.forEach((p: Record<string, number>, i: number) => {
    close(p.precision, want.perClass[i].precision);
    close(p.recall, want.perClass[i].recall);
    close(p.f1, want.perClass[i].f1);
  });
}

// The held-out penguins, plus rows the figures must leave out: no label, a species no model knows,
// and one the model cannot score.
const penguinRows = readCsv(demo.penguins.holdoutCsv);
const extra = ['900,40,18,190,3800,', '901,41,17,195,3900,Emperor', '902,oops,18,190,3800,Adelie'];
const penguinsCsv = demo.penguins.holdoutCsv.trimEnd() + '\n' + extra.join('\n') + '\n';
const truth = penguinRows.map((r) => labels.indexOf(r.Species));

describe('evaluation jobs', () => {
  it('a classifier: accuracy, per-class figures, F1, confusion and log loss equal a direct computation; unusable labels counted, not fatal', async () => {
    const job = await submit('model=penguins:1&label_column=Species&record=true', penguinsCsv);
    expect(job.status).toBe('completed');
    expect(job.rows).toMatchObject({ total: 71, succeeded: 70, failed: 1 });
    expect(job.label_column).toBe('Species');
    expect(job.dataset_sha256).toMatch(/^[0-9a-f]{64}$/);
    const e = job.evaluation;
    expect(e).toMatchObject({ task: 'classification', rows_evaluated: 68, missing_label: 1, unknown_label: 1, unknown_label_examples: ['Emperor'], unscored: 1 });
    const probs = await scoreDirectly(demo.penguins.onnx, demo.penguins.signature, penguinRows, { output: 'probabilities' });
    expectClassification(e, classificationFigures(truth, probs));

    // record=true: the version keeps it, with the dataset it is about.
    const { rows } = await env.pool.query(
      `SELECT e.rows::int, e.dataset_digest, e.label_column, e.metrics FROM model_evaluations e JOIN model_versions mv ON mv.id = e.model_version_id WHERE mv.version = 1 AND e.job_id = $1`,
      [job.id],
    );
    expect(rows).toEqual([{ rows: 68, dataset_digest: job.dataset_sha256, label_column: 'Species', metrics: e }]);
    // The label column is read, not passed through: the results are as for a plain job.
    const results = readCsv(await (await c.get(`/v1/jobs/${job.id}/results`)).text());
    expect(Object.keys(results[0])).toEqual(['row', 'id', 'prediction', ...labels.map((l) => `probability_${l}`), 'error']);
  });

  it('a regressor: RMSE, MAE, R² and the residual histogram equal a direct computation', async () => {
    const job = await submit('model=cars:1&label_column=Miles_per_Gallon', demo.cars.holdoutCsv);
    const rows = readCsv(demo.cars.holdoutCsv);
    const yhat = (await scoreDirectly(demo.cars.onnx, demo.cars.signature, rows, { output: 'variable' })).map((r) => r[0]);
    const y = rows.map((r) => Number(r.Miles_per_Gallon));
    const res = y.map((v, i) => v - yhat[i]);
    const mean = y.reduce((a, b) => a + b, 0) / y.length;
    const ssTot = y.reduce((a, v) => a + (v - mean) ** 2, 0);
    const sse = res.reduce((a, r) => a + r * r, 0);
    const e = job.evaluation;
    expect(e).toMatchObject({ task: 'regression', rows_evaluated: rows.length, missing_label: 0, unknown_label: 0, unscored: 0 });
    close(e.rmse, Math.sqrt(sse / y.length));
    close(e.mae, res.reduce((a, r) => a + Math.abs(r), 0) / y.length);
    close(e.r2, 1 - sse / ssTot);
    close(e.mean_residual, res.reduce((a, b) => a + b, 0) / y.length);
    expect(e.residual_histogram.reduce((a: number, b: { count: number }) => a + b.count, 0)).toBe(rows.length);
    for (const b of e.residual_histogram) expect(b.count).toBe(res.filter((r) => (r >= 0 ? r >= (b.from ?? -Infinity) && r < (b.to ?? Infinity) : r > (b.from ?? -Infinity) && r <= (b.to ?? Infinity))).length);
    // Not recorded without record=true.
    expect((await env.pool.query(`SELECT count(*)::int AS n FROM model_evaluations WHERE job_id = $1`, [job.id])).rows[0].n).toBe(0);
  });

  it('refuses what cannot be evaluated with a clear 4xx', async () => {
    const missing = await (await c.postCsv('/v1/jobs?model=penguins:1&label_column=species_name', demo.penguins.holdoutCsv)).json();
    expect(missing).toMatchObject({ status: 422, code: 'missing_label_column' });
    expect(missing.detail).toMatch(/"species_name"/);
    const input = await c.postCsv(`/v1/jobs?model=penguins:1&label_column=${encodeURIComponent('Beak Length (mm)')}`, demo.penguins.holdoutCsv);
    expect(input.status).toBe(422);
    expect((await input.json()).code).toBe('evaluation_not_supported');
    const record = await c.postCsv('/v1/jobs?model=penguins:1&record=true', demo.penguins.holdoutCsv);
    expect(record.status).toBe(400);
    const mixed = await (await c.postCsv('/v1/jobs?model=penguins:1&compare=cars:1', demo.penguins.holdoutCsv)).json();
    expect(mixed).toMatchObject({ status: 422, code: 'incompatible_models' });
  });
});

describe('compare jobs', () => {
  it('two classifiers reading different columns: agreement, disagreement matrix and both evaluations equal a direct computation', async () => {
    const job = await submit('model=penguins:2&compare=penguins:1&label_column=Species', demo.penguins.holdoutCsv);
    expect(job.status).toBe('completed');
    expect(job.model).toEqual({ name: 'penguins', version: 2 });
    expect(job.compare.model).toEqual({ name: 'penguins', version: 1 });
    const v2 = await scoreDirectly(beak.onnx, beak.signature, penguinRows, { output: 'probabilities' });
    const v1 = await scoreDirectly(demo.penguins.onnx, demo.penguins.signature, penguinRows, { output: 'probabilities' });
    const [a, b] = [v2.map(argmax), v1.map(argmax)];
    const agree = a.filter((k, i) => k === b[i]).length;
    expect(agree).toBeLessThan(a.length); // the two models do disagree somewhere
    expect(job.compare.agreement).toMatchObject({ task: 'classification', rows: a.length, unscored: 0 });
    close(job.compare.agreement.agreement_rate, agree / a.length);
    const m = job.compare.agreement.disagreement_matrix;
    const cells = m.labels_a.flatMap((la: string, i: number) => m.labels_b.map((lb: string, j: number) => [la, lb, m.counts[i][j]]));
    for (const [la, lb, n] of cells) expect(n).toBe(a.filter((k, r) => labels[k] === la && labels[b[r]] === lb).length);
    expectClassification(job.evaluation, classificationFigures(truth, v2));
    expectClassification(job.compare.evaluation, classificationFigures(truth, v1));

    // Every result row carries both predictions.
    const rows = readCsv(await (await c.get(`/v1/jobs/${job.id}/results`)).text());
    expect(rows.map((r) => [r.prediction, r.compare_prediction])).toEqual(a.map((k, i) => [labels[k], labels[b[i]]]));
    rows.forEach((r, i) => labels.forEach((l, k) => expect(Number(r[`compare_probability_${l}`])).toBeCloseTo(v1[i][k], 6)));
    const page = await (await c.get(`/v1/jobs/${job.id}/results?format=json&limit=3`)).json();
    expect(page.data[0]).toMatchObject({ prediction: labels[a[0]], compare_prediction: labels[b[0]] });
    expect(Object.keys(page.data[0].compare_probabilities)).toEqual(labels);
  });

  it('two regressors fed alike: the mean absolute difference equals a direct computation', async () => {
    const job = await submit('model=cars:2&compare=cars:1', demo.cars.holdoutCsv);
    const rows = readCsv(demo.cars.holdoutCsv);
    const weights = demo.cars.signature.columns!.map((_, i) => (i % 2 ? 0.8 : -1.1));
    const v2 = (await scoreDirectly(linearRegression(weights, 23.5), demo.cars.signature, rows, { output: 'variable' })).map((r) => r[0]);
    const v1 = (await scoreDirectly(demo.cars.onnx, demo.cars.signature, rows, { output: 'variable' })).map((r) => r[0]);
    const diffs = v2.map((v, i) => Math.abs(v - v1[i]));
    expect(job.compare.agreement).toMatchObject({ task: 'regression', rows: rows.length, unscored: 0 });
    close(job.compare.agreement.mean_absolute_difference, diffs.reduce((x, y) => x + y, 0) / diffs.length);
    close(job.compare.agreement.max_absolute_difference, Math.max(...diffs));
    expect(job.evaluation).toBeUndefined(); // no label column: no evaluation
    const results = readCsv(await (await c.get(`/v1/jobs/${job.id}/results`)).text());
    results.forEach((r, i) => expect(Number(r.compare_prediction)).toBeCloseTo(v1[i], 4));
  });
});
