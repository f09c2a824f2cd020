import { describe, expect, it } from 'vitest';
import { SignatureSchema } from '../../src/models/signature.js';
import { prepareGraph } from '../../src/models/onnx.js';
import { planRun } from '../../src/models/plan.js';
import { inspectAndPlan, planOf, problemsOf } from './inspectAndPlan.js';
import { DataType, encodeModel, node, tensorValue } from '../../scripts/train/export.js';
import { fixedWeights, linearRegression, mlpClassifier, nhwcImageModel, notOnnx, sklearnStyleClassifier } from '../fixtures/onnxBuilder.js';
import { InvalidModelError } from '../../src/models/onnx.js';

const sig = (s: Record<string, unknown>) => SignatureSchema.parse(s);
const cols = (n: number) => Array.from({ length: n }, (_, i) => `c${i}`);
const W = fixedWeights(3, 4);
const B = [0, 0, 0];


describe('planRun: inputs', () => {
  it('settles a regression plan for a matching signature', () => {
    expect(planOf(linearRegression([1, 2, 3, 4], 0), { columns: cols(4), task: 'regression' })).toEqual({
      input: 'float_input',
      inputType: 'float32',
      inputShape: [-1, 4],
      maxBatch: null,
      value: 'variable',
    });
  });

  it('names both sides when the column count does not fit', () => {
    const problems = problemsOf(sklearnStyleClassifier(W, B), { columns: cols(5), task: 'classification' });
    expect(problems).toEqual(['the model input "float_input" takes 4 values per row ([N, 4]) but the signature has 5 columns']);
  });

  it('accepts any row size for named, empty and unset dynamic dims, and any batch', () => {
    for (const d of ['N', '', 'batch', null] as const) {
      const bytes = encodeModel({
        name: 'dyn',
        input: [tensorValue('x', DataType.FLOAT, [d, d])],
        output: [tensorValue('y', DataType.FLOAT, [d, 1])],
        node: [node('ReduceSum', ['x'], ['y'])],
      });
      expect(planOf(bytes, { columns: cols(7), task: 'regression' })).toMatchObject({ inputShape: [-1, 7], maxBatch: null, value: 'y' });
    }
  });

  it('reads the batch dim: fixed 1 and fixed k cap the batch', () => {
    expect(planOf(linearRegression([1, 2], 0, { batchDim: 1 }), { columns: cols(2), task: 'regression' }).maxBatch).toBe(1);
    expect(planOf(linearRegression([1, 2], 0, { batchDim: 8 }), { columns: cols(2), task: 'regression' }).maxBatch).toBe(8);
    expect(planOf(linearRegression([1, 2], 0, { batchDim: '' }), { columns: cols(2), task: 'regression' }).maxBatch).toBeNull();
  });

  it('feeds an NHWC image input from 784 pixel columns, with or without a signature shape', () => {
    const bytes = nhwcImageModel();
    const withShape = planOf(bytes, { columns: cols(784), shape: [28, 28, 1], task: 'classification' });
    expect(withShape).toMatchObject({ input: 'input_1', inputShape: [-1, 28, 28, 1], probabilities: 'probabilities', softmax: false });
    expect(planOf(bytes, { columns: cols(784), task: 'classification' }).inputShape).toEqual([-1, 28, 28, 1]);
    expect(problemsOf(bytes, { columns: cols(784), shape: [1, 28, 28], task: 'classification' })).toEqual([
      'the model input "input_1" takes rows shaped [28, 28, 1] ([N, 28, 28, 1]) but the signature\'s shape is [1,28,28]',
    ]);
    expect(problemsOf(bytes, { columns: cols(783), task: 'classification' })[0]).toMatch(/rows shaped \[28, 28, 1\].*783 columns/);
  });

  it('lists the available inputs for an unknown input name', () => {
    expect(problemsOf(linearRegression([1], 0), { columns: ['a'], input: 'images', task: 'regression' })).toEqual([
      'the signature\'s input "images" is not an input of the model; its inputs are "float_input"',
    ]);
  });

  it('refuses input element types it cannot fill and dtype disagreements', () => {
    const boolModel = encodeModel({
      name: 'b',
      input: [tensorValue('x', DataType.BOOL, ['N', 2])],
      output: [tensorValue('y', DataType.BOOL, ['N', 2])],
      node: [node('Not', ['x'], ['y'])],
    });
    expect(problemsOf(boolModel, { columns: cols(2), task: 'raw' })).toEqual(['the model input "x" takes bool values; supported are float32, float64, int64, int32']);
    expect(problemsOf(linearRegression([1, 2], 0), { columns: cols(2), dtype: 'float64', task: 'regression' })[0]).toMatch(/dtype is float64.*takes float32/);
  });

  it('refuses a model with two inputs a signature cannot both fill', () => {
    const two = encodeModel({
      name: 't',
      input: [tensorValue('a', DataType.FLOAT, ['N', 2]), tensorValue('b', DataType.FLOAT, ['N', 2])],
      output: [tensorValue('y', DataType.FLOAT, ['N', 2])],
      node: [node('Add', ['a', 'b'], ['y'])],
    });
    expect(problemsOf(two, { columns: cols(2), task: 'raw' })[0]).toMatch(/2 inputs \("a", "b"\)/);
    expect(problemsOf(two, { columns: cols(2), input: 'a', task: 'raw' })[0]).toMatch(/needs inputs "b" besides "a"/);
  });
});

describe('planRun: outputs', () => {
  it('reads an sklearn classifier after ZipMap removal: int64 labels, probabilities, class labels from the graph', () => {
    const plan = planOf(sklearnStyleClassifier(W, B, { labels: [3, 5, 9], batchDim: '' }), { columns: cols(4), task: 'classification' });
    expect(plan).toEqual({
      input: 'float_input',
      inputType: 'float32',
      inputShape: [-1, 4],
      maxBatch: null,
      probabilities: 'output_probability',
      label: 'output_label',
      labels: ['3', '5', '9'],
      softmax: false,
    });
  });

  it('prefers the signature labels, and refuses a label count that differs from the classes', () => {
    const bytes = sklearnStyleClassifier(W, B, { via: 'argmax' });
    expect(planOf(bytes, { columns: cols(4), task: 'classification', labels: ['x', 'y', 'z'] }).labels).toEqual(['x', 'y', 'z']);
    expect(problemsOf(bytes, { columns: cols(4), task: 'classification', labels: ['x', 'y'] })).toEqual([
      'the signature has 2 labels but the output "output_probability" has 3 classes ([N, 3])',
    ]);
  });

  it('asks for a softmax only when the graph ends in logits', () => {
    const layers = [
      { weights: fixedWeights(5, 4), bias: [0, 0, 0, 0, 0] },
      { weights: fixedWeights(3, 5), bias: [0, 0, 0] },
    ];
    const logits = planOf(mlpClassifier(layers), { columns: cols(4), task: 'classification' });
    expect(logits).toMatchObject({ probabilities: 'logits', softmax: true });
    expect(logits.labels).toBeUndefined();
    expect(planOf(mlpClassifier(layers, { softmax: true }), { columns: cols(4), task: 'classification' })).toMatchObject({ probabilities: 'probabilities', softmax: false });
    expect(planOf(sklearnStyleClassifier(W, B, { zipmap: false }), { columns: cols(4), task: 'classification' }).softmax).toBe(false);
    // Log-probabilities: a softmax of them gives the probabilities back.
    const logSoftmax = encodeModel({
      name: 'ls',
      input: [tensorValue('x', DataType.FLOAT, ['N', 3])],
      output: [tensorValue('log_probs', DataType.FLOAT, ['N', 3])],
      node: [node('LogSoftmax', ['x'], ['log_probs'], [])],
    });
    expect(planOf(logSoftmax, { columns: cols(3), task: 'classification' })).toMatchObject({ probabilities: 'log_probs', softmax: true });
  });

  it('lists the outputs when the signature names an unknown one', () => {
    const problems = problemsOf(sklearnStyleClassifier(W, B), { columns: cols(4), task: 'classification', output: 'probs' });
    expect(problems).toEqual([
      'the signature\'s output "probs" is not an output of the model; its outputs are "output_label" (int64 [N]), "output_probability" (float32 [N, 3])',
    ]);
  });

  it('never chooses a seq/map output, even when named', () => {
    const prepared = prepareGraph(sklearnStyleClassifier(W, B));
    // As if the ZipMap had not been removed: the raw outputs of the exported file.
    const unprepared = { ...prepared, outputs: [prepared.outputs[0], { name: 'output_probability', type: 'seq(map(int64,tensor(float)))', dims: [] }], probabilityOutputs: [] };
    const named = planRun(sig({ columns: cols(4), task: 'raw', output: 'output_probability' }), unprepared);
    expect(named).toEqual({ problems: [expect.stringMatching(/seq\(map\(int64,tensor\(float\)\)\), which onnxruntime-node cannot return/)] });
    expect(planRun(sig({ columns: cols(4), task: 'raw' }), unprepared)).toMatchObject({ plan: { value: 'output_label' } });
    expect(planRun(sig({ columns: cols(4), task: 'classification' }), unprepared)).toMatchObject({ problems: [expect.stringMatching(/no \[N, C\] float output/)] });
  });

  it('regression needs one value per row and one float output to pick', () => {
    const bytes = mlpClassifier([{ weights: W, bias: B }]);
    expect(problemsOf(bytes, { columns: cols(4), task: 'regression' })).toEqual(['a regression output gives one value per row, but "logits" gives 3 ([N, 3])']);
    const twoOutputs = encodeModel({
      name: 'two',
      input: [tensorValue('x', DataType.FLOAT, ['N', 1])],
      output: [tensorValue('y1', DataType.FLOAT, ['N', 1]), tensorValue('y2', DataType.FLOAT, ['N'])],
      node: [node('Identity', ['x'], ['y1']), node('Flatten', ['x'], ['y2f']), node('Identity', ['y2f'], ['y2'])],
    });
    expect(problemsOf(twoOutputs, { columns: ['a'], task: 'regression' })[0]).toMatch(/2 float outputs \("y1", "y2"\): name the value/);
    expect(planOf(twoOutputs, { columns: ['a'], task: 'regression', output: 'y2' }).value).toBe('y2');
  });

  it('raw returns the named output or the first tensor', () => {
    const bytes = sklearnStyleClassifier(W, B);
    expect(planOf(bytes, { columns: cols(4), task: 'raw' }).value).toBe('output_label');
    expect(planOf(bytes, { columns: cols(4), task: 'raw', output: 'output_probability' }).value).toBe('output_probability');
  });

  it('checks the plan against the names onnxruntime reports', () => {
    const prepared = prepareGraph(linearRegression([1], 0));
    expect(planRun(sig({ columns: ['a'], task: 'regression' }), prepared, { inputNames: ['float_input'], outputNames: ['variable'] })).toHaveProperty('plan');
    expect(planRun(sig({ columns: ['a'], task: 'regression' }), prepared, { inputNames: ['float_input'], outputNames: ['other'] })).toEqual({
      problems: ['onnxruntime does not list "variable" among the model\'s outputs (other)'],
    });
  });

  it('inspectAndPlan throws InvalidModelError for bytes that are no model', () => {
    expect(() => inspectAndPlan(notOnnx, sig({ columns: ['a'], task: 'raw' }))).toThrow(InvalidModelError);
  });
});
