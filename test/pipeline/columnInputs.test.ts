import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKey } from '../../src/auth/tenants.js';
import { linearRegression } from '../fixtures/onnxBuilder.js';
import { houseRegressor, stringCodeClassifier, textClassifier, titanicClassifier } from '../fixtures/sklearnPipelines.js';
import { client, startInProcessApi } from '../helpers/api.js';
import { createTestEnv, type TestEnv } from '../helpers/env.js';
import { expectProblem } from '../helpers/problem.js';
import { startWorkerInProcess, type InProcessWorker } from '../helpers/worker.js';
import { readCsv } from './helpers.js';

// Per-column graphs (skl2onnx's ColumnTransformer pipelines, a TF-IDF text classifier) scored
// through the api and a worker must equal onnxruntime run directly on the same typed rows.
let env: TestEnv;
let api: Awaited<ReturnType<typeof startInProcessApi>>;
let worker: InProcessWorker;
let c: ReturnType<typeof client>;

beforeAll(async () => {
  env = await createTestEnv({ CHUNK_ROWS: '4', INFERENCE_THREADS: '1' });
  api = await startInProcessApi(env.config);
  worker = await startWorkerInProcess(env.env);
  c = client(api.url, (await createKey(env.pool, 'pipelines')).key);
  const register = async (name: string, onnx: Uint8Array, sig: unknown) => {
    const res = await c.registerModel(name, onnx, sig);
    expect(res.status, JSON.stringify(await res.clone().json())).toBe(201);
  };
  // Zero configuration, but for one input's missing policy.
  await register('titanic', titanicClassifier(), { task: 'classification', passthrough: ['id'], missing: 'nan', inputs: { embarked: { missing: { fill: 'unknown' } } } });
  await register('house', houseRegressor(), { task: 'regression', missing: 'nan' });
  await register('text', textClassifier(), { task: 'classification' });
  await register('codes', stringCodeClassifier(), { task: 'classification' });
});
afterAll(async () => {
  await worker?.close();
  await api?.close();
  await env?.close();
});

type Typed = { type: ort.Tensor.Type; values: (number | string | boolean)[] };

/** onnxruntime on the graph itself (the ZipMap-free twin for classifiers), fed the typed columns. */
async function direct(onnx: Uint8Array, columns: Record<string, Typed>, fetch: string[]): Promise<Record<string, ort.Tensor>> {
  const session = await ort.InferenceSession.create(onnx);
  const feeds: Record<string, ort.Tensor> = {};
  for (const [name, { type, values }] of Object.entries(columns)) {
    const n = values.length;
    const data =
      type === 'string' ? (values as string[])
      : type === 'int64' ? BigInt64Array.from(values as number[], (v) => BigInt(v))
      : type === 'int32' ? Int32Array.from(values as number[])
      : type === 'float64' ? Float64Array.from(values as number[])
      : type === 'bool' ? Uint8Array.from(values as boolean[], (v) => (v ? 1 : 0))
      : Float32Array.from(values as number[]);
    feeds[name] = new ort.Tensor(type, data as never, [n, 1]);
  }
  const out = await session.run(feeds, fetch);
  await session.release();
  return out;
}

async function submit(model: string, csv: string) {
  const res = await c.postCsv(`/v1/jobs?model=${model}`, csv);
  const body = await res.json();
  expect(res.status, JSON.stringify(body)).toBe(202);
  const job = await c.waitForJob(body.id);
  return { job, rows: readCsv(await (await c.get(`/v1/jobs/${body.id}/results`)).text()) };
}

function expectProbabilities(row: Record<string, string>, labels: string[], want: ArrayLike<number>, i: number) {
  labels.forEach((l, k) => expect(Math.abs(Number(row[`probability_${l}`]) - want[i * labels.length + k]), `row ${i} ${l}`).toBeLessThan(1e-6));
}

describe('a ColumnTransformer pipeline (int64, strings, floats the graph imputes, bool)', () => {
  // Header in another order and case than the graph's inputs, an extra column, quoted cells.
  const csv = [
    'id,Sex,PCLASS,age,fare,embarked,alone,extra',
    '1,male,3,22,7.25,S,true,x',
    '2,female,1,,71.28,C,FALSE,x', // age missing: NaN, imputed by the graph
    '3,"female",2,30,,Q,1,x', // fare missing
    '4,male,3,40,8.05,,0,x', // embarked missing: filled with "unknown", an unseen category
    '5,other,1,50.5,100,Z,True,x', // unseen categories
    '6,male,3.0,28,7.9,S,0,x', // "3.0" is the int64 3
    '7,male,3.5,28,7.9,S,0,x', // not an integer: a row error
    '8,male,2,28,7.9,S,maybe,x', // not a bool
    '9,,2,28,7.9,S,0,x', // a string input missing, no fill: a row error
  ].join('\n');
  const scored = {
    pclass: { type: 'int64', values: [3, 1, 2, 3, 1, 3] },
    sex: { type: 'string', values: ['male', 'female', 'female', 'male', 'other', 'male'] },
    embarked: { type: 'string', values: ['S', 'C', 'Q', 'unknown', 'Z', 'S'] },
    age: { type: 'float32', values: [22, NaN, 30, 40, 50.5, 28] },
    fare: { type: 'float64', values: [7.25, 71.28, NaN, 8.05, 100, 7.9] },
    alone: { type: 'bool', values: [true, false, true, false, true, false] },
  } satisfies Record<string, Typed>;

  it('scores every row as onnxruntime does directly; bad cells are row errors naming column and value', async () => {
    const { job, rows } = await submit('titanic', csv);
    expect(job.rows).toMatchObject({ total: 9, succeeded: 6, failed: 3 });
    const want = await direct(titanicClassifier({ zipmap: false }), scored, ['output_label', 'output_probability']);
    const labels = ['0', '1', '2'];
    rows.slice(0, 6).forEach((r, i) => {
      expect(r.error).toBe('');
      expect(r.id).toBe(String(i + 1));
      expect(r.prediction).toBe(String((want.output_label.data as BigInt64Array)[i]));
      expectProbabilities(r, labels, want.output_probability.data as Float32Array, i);
    });
    expect(rows[6].error).toMatch(/column "pclass": 3\.5 is not a valid int64/);
    expect(rows[7].error).toMatch(/column "alone": "maybe" is not a bool/);
    expect(rows[8].error).toMatch(/column "sex" is missing/);
  });

  it('single predictions: JSON numbers and strings, the same answers', async () => {
    const records = [
      { id: 'a', pclass: 3, sex: 'male', embarked: 'S', age: 22, fare: 7.25, alone: 1 },
      { id: 'b', pclass: '1', sex: 'female', embarked: 'C', age: null, fare: '71.28', alone: 'false' },
    ];
    const res = await c.postJson('/v1/predictions', { model: 'titanic', inputs: records, wait: 20 });
    const body = await res.json();
    expect(res.status, JSON.stringify(body)).toBe(200);
    const want = await direct(titanicClassifier({ zipmap: false }), {
      pclass: { type: 'int64', values: [3, 1] }, sex: { type: 'string', values: ['male', 'female'] }, embarked: { type: 'string', values: ['S', 'C'] },
      age: { type: 'float32', values: [22, NaN] }, fare: { type: 'float64', values: [7.25, 71.28] }, alone: { type: 'bool', values: [true, false] },
    }, ['output_label', 'output_probability']);
    body.predictions.forEach((p: { prediction: string; probabilities: Record<string, number>; passthrough: Record<string, string> }, i: number) => {
      expect(p.prediction).toBe(String((want.output_label.data as BigInt64Array)[i]));
      for (const k of [0, 1, 2]) expect(Math.abs(p.probabilities[String(k)] - (want.output_probability.data as Float32Array)[i * 3 + k])).toBeLessThan(1e-6);
    });
    expect(body.predictions[0].passthrough).toEqual({ id: 'a' });
  });

  it('an upload lacking a column the graph reads is refused before any row, naming it', async () => {
    const body = await expectProblem(await c.postCsv('/v1/jobs?model=titanic', 'id,sex,pclass,age,embarked,alone\n1,male,3,22,S,1\n'), 422, 'missing_columns');
    expect(body.missing).toEqual(['fare']);
  });

  it('GET the version shows how each graph input is fed', async () => {
    const v = await (await c.get('/v1/models/titanic/versions/1')).json();
    expect(v.signature).toMatchObject({ task: 'classification', missing: 'nan' });
    const byInput = Object.fromEntries((v.feeds as { input: string }[]).map((f) => [f.input, f]));
    expect(byInput.pclass).toMatchObject({ type: 'int64', shape: ['N', 1], columns: ['pclass'] });
    expect(byInput.sex).toMatchObject({ type: 'string', columns: ['sex'] });
    expect(byInput.age).toMatchObject({ type: 'float32', columns: ['age'], missing: 'nan' });
  });
});

describe('a TreeEnsembleRegressor pipeline', () => {
  it('values equal onnxruntime run directly, missing numbers imputed by the graph', async () => {
    const { job, rows } = await submit('house', 'city,rooms,area\nParis,2,50\nLyon,3,\nNice,1,70\n"Paris",4,NA\nLyon,2.0,59.5\n');
    expect(job.rows).toMatchObject({ total: 5, succeeded: 5 });
    const want = await direct(houseRegressor(), {
      rooms: { type: 'int32', values: [2, 3, 1, 4, 2] }, area: { type: 'float32', values: [50, NaN, 70, NaN, 59.5] }, city: { type: 'string', values: ['Paris', 'Lyon', 'Nice', 'Paris', 'Lyon'] },
    }, ['variable']);
    rows.forEach((r, i) => expect(Math.abs(Number(r.prediction) - (want.variable.data as Float32Array)[i])).toBeLessThan(1e-6));
  });
});

describe('a TF-IDF text classifier', () => {
  it('text reaches the model unchanged: quotes, commas, newlines, non-ASCII', async () => {
    const texts = ['Good movie, great plot', 'awful; not good\nat all', 'Café "bad" movie', 'NA', '3'];
    const csv = 'id,text\n' + texts.map((t, i) => `${i},"${t.replace(/"/g, '""')}"`).join('\n') + '\n';
    const { job, rows } = await submit('text', csv);
    expect(job.rows).toMatchObject({ total: texts.length, succeeded: texts.length });
    const want = await direct(textClassifier({ zipmap: false }), { text: { type: 'string', values: texts } }, ['output_label', 'output_probability']);
    rows.forEach((r, i) => {
      expect(r.prediction).toBe((want.output_label.data as string[])[i]);
      expectProbabilities(r, ['negative', 'positive'], want.output_probability.data as Float32Array, i);
    });
  });
});

describe('a string column holding number-looking values', () => {
  it('keeps "3", "3.0" and "03" as the strings written; a JSON number is its decimal text', async () => {
    const { rows } = await submit('codes', 'code,size\n3,1\n3.0,2\n03,3\nx,4\n');
    const want = await direct(stringCodeClassifier({ zipmap: false }), { code: { type: 'string', values: ['3', '3.0', '03', 'x'] }, size: { type: 'float64', values: [1, 2, 3, 4] } }, ['output_label', 'output_probability']);
    rows.forEach((r, i) => {
      expect(r.prediction).toBe((want.output_label.data as string[])[i]);
      expectProbabilities(r, ['a', 'b'], want.output_probability.data as Float32Array, i);
    });
    // The three codes are different categories to the graph: their probabilities differ.
    expect(new Set(rows.slice(0, 3).map((r) => r.probability_a)).size).toBe(3);
    const res = await c.postJson('/v1/predictions', { model: 'codes', inputs: [{ code: 3, size: 1 }], wait: 20 });
    const body = await res.json();
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body.predictions[0].probabilities.a).toBeCloseTo(Number(rows[0].probability_a), 6);
  });
});

describe('registration', () => {
  it('a graph input no column can feed by name is a 422 naming it, its type and shape', async () => {
    const body = await expectProblem(await c.registerModel('wide', linearRegression([1, 2, 3, 4], 0), { task: 'regression' }), 422, 'signature_mismatch');
    expect(body.detail).toMatch(/"float_input" \(float32 \[N, 4\]\)/);
    expect((await c.registerModel('wide', linearRegression([1, 2, 3, 4], 0), { task: 'regression', inputs: { float_input: { columns: ['a', 'b', 'c', 'd'] } } })).status).toBe(201);
  });

  it('a policy that does not fit its input is refused', async () => {
    const body = await expectProblem(await c.registerModel('bad', titanicClassifier(), { task: 'classification', inputs: { pclass: { missing: 'nan' } } }), 422, 'signature_mismatch');
    expect(body.detail).toMatch(/"pclass" \(int64\): NaN is only for float inputs/);
  });
});
