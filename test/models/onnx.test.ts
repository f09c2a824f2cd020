import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { InvalidModelError, decodeModel, inspectModel, prepareGraph } from '../../src/models/onnx.js';
import { DataType, encodeModel, floatTensor, node, tensorValue } from '../../scripts/train/export.js';
import { fixedWeights, graphlessModel, linearRegression, mlpClassifier, notOnnx, sklearnStyleClassifier } from '../fixtures/onnxBuilder.js';

const W = fixedWeights(3, 4);
const B = [0.05, -0.02, 0.01];
const X = [
  [1, 2, 3, 4],
  [-3, 0.5, 2, -1],
];

function expectedProbs(x: number[]) {
  const z = W.map((w, k) => w.reduce((s, v, j) => s + v * x[j], B[k]));
  const e = z.map((v) => Math.exp(v - Math.max(...z)));
  return e.map((v) => v / e.reduce((a, b) => a + b, 0));
}
const argmax = (v: number[]) => v.indexOf(Math.max(...v));

async function run(bytes: Uint8Array, rows: number[][]) {
  const session = await ort.InferenceSession.create(bytes);
  try {
    const input = new ort.Tensor('float32', Float32Array.from(rows.flat()), [rows.length, rows[0].length]);
    return await session.run({ [session.inputNames[0]]: input });
  } finally {
    await session.release();
  }
}

describe('decodeModel', () => {
  it('rejects bytes that are not an ONNX ModelProto with a typed, human error', () => {
    expect(() => decodeModel(notOnnx)).toThrow(InvalidModelError);
    expect(() => decodeModel(notOnnx)).toThrow(/^protobuf decoding failed \(.+\); an ONNX file is a serialized ModelProto$/);
    expect(() => decodeModel(new Uint8Array())).toThrow(/no graph/);
  });

  it('rejects a ModelProto without a graph', () => {
    const err = (() => {
      try {
        decodeModel(graphlessModel);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(InvalidModelError);
    expect((err as InvalidModelError).code).toBe('invalid_model');
    expect((err as Error).message).toMatch(/no graph/);
  });
});

describe('inspectModel', () => {
  it('lists inputs and outputs with onnxruntime type names and dims', () => {
    const { inputs, outputs } = inspectModel(linearRegression([1, 2, 3], 0.5, { inputName: 'x', batchDim: 'batch' }));
    expect(inputs).toEqual([{ name: 'x', type: 'float32', dims: ['batch', 3] }]);
    expect(outputs).toEqual([{ name: 'variable', type: 'float32', dims: ['batch', 1] }]);
  });

  it('describes int64/string labels and the seq(map) ZipMap output; keeps "" and unset dims apart', () => {
    const ints = inspectModel(sklearnStyleClassifier(W, B, { batchDim: '' }));
    expect(ints.inputs).toEqual([{ name: 'float_input', type: 'float32', dims: ['', 4] }]);
    expect(ints.outputs).toEqual([
      { name: 'output_label', type: 'int64', dims: [''] },
      { name: 'output_probability', type: 'seq(map(int64,tensor(float)))', dims: [] },
    ]);
    const strings = inspectModel(sklearnStyleClassifier(W, B, { labels: ['a', 'b', 'c'], batchDim: null }));
    expect(strings.inputs[0].dims).toEqual([null, 4]);
    expect(strings.outputs.map((o) => o.type)).toEqual(['string', 'seq(map(string,tensor(float)))']);
  });

  it('does not list initializers that old exporters also declared as inputs', () => {
    const bytes = encodeModel({
      name: 'g',
      input: [tensorValue('x', DataType.DOUBLE, ['N', 2]), tensorValue('w', DataType.FLOAT, [2, 1])],
      output: [tensorValue('y', DataType.FLOAT, ['N', 1])],
      initializer: [floatTensor('w', [2, 1], [1, 2])],
      node: [node('MatMul', ['x', 'w'], ['y'])],
    });
    expect(inspectModel(bytes).inputs).toEqual([{ name: 'x', type: 'float64', dims: ['N', 2] }]);
  });
});

describe('prepareGraph', () => {
  it('returns the original bytes untouched when nothing needs rewriting', () => {
    const bytes = mlpClassifier([{ weights: W, bias: B }], { softmax: true });
    const prepared = prepareGraph(bytes);
    expect(prepared.bytes).toBe(bytes);
    expect(prepared.rewrites).toEqual([]);
    expect(prepared.classLabels).toBeUndefined();
    expect(prepared.producers).toEqual({ probabilities: 'Softmax' });
  });

  it('the sklearn-style model cannot be fully run as exported (the quirk being handled)', async () => {
    await expect(run(sklearnStyleClassifier(W, B), X)).rejects.toThrow(/Non tensor type/);
  });

  for (const via of ['linear-classifier', 'argmax'] as const) {
    it(`removes the ZipMap (${via}); onnxruntime-node then returns int64 labels and [N, C] probabilities`, async () => {
      const prepared = prepareGraph(sklearnStyleClassifier(W, B, { via, labels: [10, 20, 30] }));
      expect(prepared.rewrites).toHaveLength(1);
      expect(prepared.rewrites[0]).toMatch(/ZipMap/);
      expect(prepared.classLabels).toEqual(['10', '20', '30']);
      expect(prepared.probabilityOutputs).toEqual(['output_probability']);
      expect(prepared.outputs).toEqual([
        { name: 'output_label', type: 'int64', dims: ['N'] },
        { name: 'output_probability', type: 'float32', dims: ['N', 3] },
      ]);
      expect(inspectModel(prepared.bytes).outputs).toEqual(prepared.outputs);

      const out = await run(prepared.bytes, X);
      expect(out.output_probability.dims).toEqual([2, 3]);
      const probs = Array.from(out.output_probability.data as Float32Array);
      X.forEach((x, i) => {
        const want = expectedProbs(x);
        want.forEach((p, k) => expect(probs[i * 3 + k]).toBeCloseTo(p, 5));
      });
      expect(Array.from(out.output_label.data as BigInt64Array)).toEqual(X.map((x) => BigInt([10, 20, 30][argmax(expectedProbs(x))])));
    });
  }

  it('handles string class labels and an empty-named batch dim', async () => {
    const prepared = prepareGraph(sklearnStyleClassifier(W, B, { labels: ['setosa', 'versicolor', 'virginica'], batchDim: '' }));
    expect(prepared.classLabels).toEqual(['setosa', 'versicolor', 'virginica']);
    expect(prepared.outputs[1]).toEqual({ name: 'output_probability', type: 'float32', dims: ['', 3] });
    const out = await run(prepared.bytes, X);
    expect(out.output_label.data).toEqual(X.map((x) => ['setosa', 'versicolor', 'virginica'][argmax(expectedProbs(x))]));
    expect(out.output_probability.dims).toEqual([2, 3]);
  });

  it('takes class labels from an ai.onnx.ml classifier when there is no ZipMap', () => {
    const bytes = sklearnStyleClassifier(W, B, { labels: [0, 1, 7], zipmap: false });
    const prepared = prepareGraph(bytes);
    expect(prepared.bytes).toBe(bytes);
    expect(prepared.classLabels).toEqual(['0', '1', '7']);
    expect(prepared.producers.output_probability).toBe('LinearClassifier');
  });
});
