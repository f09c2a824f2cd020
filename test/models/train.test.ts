import { beforeAll, describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { trainDemoModels, type DemoModels } from '../../scripts/train/demoModels.js';
import { inspectAndPlan } from './inspectAndPlan.js';
import { SignatureSchema, type Signature } from '../../src/models/signature.js';

let demo: DemoModels;
beforeAll(() => {
  demo = trainDemoModels();
});

/** What the worker's preprocessing does with the signature: (x − μ)/σ per column, float32. */
function features(rows: Record<string, unknown>[], s: Signature) {
  return Float32Array.from(rows.flatMap((r) => s.columns!.map((c, j) => (Number(r[c]) - s.mean![j]) / s.std![j])));
}

async function runOnnx(bytes: Uint8Array, rows: Record<string, unknown>[], s: Signature) {
  const session = await ort.InferenceSession.create(bytes);
  try {
    const out = await session.run({ float_input: new ort.Tensor('float32', features(rows, s), [rows.length, s.columns!.length]) });
    return out[session.outputNames[0]];
  } finally {
    await session.release();
  }
}

describe('demo models', () => {
  it('train identically twice (byte-for-byte models, same metrics and CSV)', () => {
    const again = trainDemoModels();
    expect(Buffer.from(again.cars.onnx).equals(Buffer.from(demo.cars.onnx))).toBe(true);
    expect(Buffer.from(again.penguins.onnx).equals(Buffer.from(demo.penguins.onnx))).toBe(true);
    expect(again.cars.metrics).toEqual(demo.cars.metrics);
    expect(again.penguins.holdoutCsv).toBe(demo.penguins.holdoutCsv);
  });

  it('cars: linear regression explains most of the held-out variance', () => {
    const m = demo.cars.metrics;
    expect(m).toMatchObject({ rows: 406, dropped: 14 });
    expect(m.train + m.test).toBe(392);
    expect(m.test).toBe(Math.round(392 * 0.2));
    expect(m.r2).toBeGreaterThan(0.7);
    expect(m.rmse).toBeLessThan(4.5);
  });

  it('penguins: softmax regression is accurate on every class', () => {
    const m = demo.penguins.metrics;
    expect(m).toMatchObject({ rows: 344, dropped: 2 });
    expect(m.accuracy).toBeGreaterThan(0.9);
    expect(Object.keys(m.perClass)).toEqual(['Adelie', 'Chinstrap', 'Gentoo']);
    for (const c of Object.values(m.perClass)) {
      expect(c.support).toBeGreaterThan(0);
      expect(c.f1).toBeGreaterThan(0.8);
      expect(c.f1).toBeLessThanOrEqual(1);
    }
    expect(Object.values(m.perClass).reduce((s, c) => s + c.support, 0)).toBe(m.test);
  });

  it('ship valid signatures carrying the training normalisation and an id passthrough', () => {
    for (const d of [demo.cars, demo.penguins]) {
      expect(SignatureSchema.parse(d.signature)).toEqual(d.signature);
      expect(d.signature.passthrough).toEqual(['id']);
      expect(d.signature.mean).toHaveLength(d.signature.columns!.length);
    }
    expect(demo.cars.signature.columns).toEqual(['Cylinders', 'Displacement', 'Horsepower', 'Weight_in_lbs', 'Acceleration', 'Year']);
    expect(demo.penguins.signature.labels).toEqual(['Adelie', 'Chinstrap', 'Gentoo']);
  });

  it('write held-out CSVs with id first, the features, then the target, with no nulls', () => {
    const [header, ...lines] = demo.cars.holdoutCsv.trimEnd().split('\n');
    expect(header).toBe('id,Cylinders,Displacement,Horsepower,Weight_in_lbs,Acceleration,Year,Miles_per_Gallon');
    expect(lines).toHaveLength(demo.cars.metrics.test);
    expect(lines.every((l) => l.split(',').length === 8 && !l.split(',').includes(''))).toBe(true);
    expect(demo.cars.holdout[0].Year).toBeGreaterThan(1969);
    expect(demo.penguins.holdoutCsv.split('\n')[0]).toBe('id,Beak Length (mm),Beak Depth (mm),Flipper Length (mm),Body Mass (g),Species');
    expect(new Set(demo.penguins.holdout.map((r) => r.id)).size).toBe(demo.penguins.holdout.length);
  });

  it('plan cleanly against their own signatures', () => {
    expect(inspectAndPlan(demo.cars.onnx, demo.cars.signature)).toMatchObject({ plan: { input: 'float_input', inputShape: [-1, 6], value: 'variable' } });
    expect(inspectAndPlan(demo.penguins.onnx, demo.penguins.signature)).toMatchObject({
      plan: { probabilities: 'probabilities', softmax: false, labels: ['Adelie', 'Chinstrap', 'Gentoo'] },
    });
  });

  it('the exported cars graph reproduces the trained metrics in onnxruntime', async () => {
    const { holdout, signature, metrics, onnx } = demo.cars;
    const out = await runOnnx(onnx, holdout, signature);
    expect(out.dims).toEqual([holdout.length, 1]);
    const pred = Array.from(out.data as Float32Array);
    const rmse = Math.sqrt(pred.reduce((s, p, i) => s + (p - Number(holdout[i].Miles_per_Gallon)) ** 2, 0) / pred.length);
    expect(rmse).toBeCloseTo(metrics.rmse, 3);
  });

  it('the exported penguins graph gives probabilities [N, 3] matching the trained accuracy', async () => {
    const { holdout, signature, metrics, onnx } = demo.penguins;
    const out = await runOnnx(onnx, holdout, signature);
    expect(out.dims).toEqual([holdout.length, 3]);
    const p = Array.from(out.data as Float32Array);
    let correct = 0;
    holdout.forEach((r, i) => {
      const row = p.slice(i * 3, i * 3 + 3);
      expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
      if (signature.labels![row.indexOf(Math.max(...row))] === r.Species) correct++;
    });
    expect(correct / holdout.length).toBeCloseTo(metrics.accuracy, 10);
  });
});
