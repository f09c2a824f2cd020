import { describe, expect, it } from 'vitest';
import { SignatureSchema } from '../../src/models/signature.js';
import { featureColumns, inputFeeds, neededColumns, planInputs } from '../../src/models/inputs.js';
import type { RunPlan } from '../../src/models/types.js';
import { linearRegression } from '../fixtures/onnxBuilder.js';
import { houseRegressor, textClassifier, titanicClassifier } from '../fixtures/sklearnPipelines.js';
import { planOf, problemsOf } from './inspectAndPlan.js';

const sig = (s: Record<string, unknown>) => SignatureSchema.parse(s);

describe('signature forms', () => {
  it('takes either columns or inputs, and keeps per-column fields with columns', () => {
    expect(SignatureSchema.safeParse({ task: 'raw' }).success).toBe(true);
    expect(SignatureSchema.safeParse({ columns: ['a'], inputs: { x: {} }, task: 'raw' }).success).toBe(false);
    expect(SignatureSchema.safeParse({ mean: [1], task: 'raw' }).success).toBe(false);
    expect(SignatureSchema.safeParse({ inputs: { x: { columns: ['a', 'b'], mean: [1] } }, task: 'raw' }).success).toBe(false);
    expect(SignatureSchema.safeParse({ inputs: { x: { missing: 'mean' } }, task: 'raw' }).success).toBe(false);
    expect(SignatureSchema.safeParse({ columns: ['a'], missing: { fill: 'x' }, task: 'raw' }).success).toBe(false);
  });
});

describe('planRun: per-column graphs', () => {
  it('zero configuration: each [N, 1] input from the column of its name, with the graph type', () => {
    const plan = planOf(titanicClassifier(), { task: 'classification', passthrough: ['id'] });
    expect(plan.input).toBeUndefined();
    expect(plan.inputs!.map((i) => [i.name, i.type, i.shape, i.columns, i.missing])).toEqual([
      ['pclass', 'int64', [1], ['pclass'], 'error'],
      ['sex', 'string', [1], ['sex'], 'error'],
      ['embarked', 'string', [1], ['embarked'], 'error'],
      ['age', 'float32', [1], ['age'], 'error'],
      ['fare', 'float64', [1], ['fare'], 'error'],
      ['alone', 'bool', [1], ['alone'], 'error'],
    ]);
    expect(plan).toMatchObject({ probabilities: 'output_probability', label: 'output_label', labels: ['0', '1', '2'], softmax: false, maxBatch: null });
    const s = sig({ task: 'classification', passthrough: ['id'] });
    expect(neededColumns(plan, s)).toEqual(['pclass', 'sex', 'embarked', 'age', 'fare', 'alone', 'id']);
  });

  it('string labels with or without ZipMap; a [N, 1] regressor', () => {
    expect(planOf(textClassifier(), { task: 'classification' })).toMatchObject({ probabilities: 'output_probability', label: 'output_label', labels: ['negative', 'positive'] });
    expect(planOf(textClassifier({ zipmap: false }), { task: 'classification' })).toMatchObject({ probabilities: 'output_probability', labels: ['negative', 'positive'] });
    expect(planOf(houseRegressor(), { task: 'regression' })).toMatchObject({ value: 'variable' });
  });

  it('the signature-wide missing policy applies where it fits; an input overrides it', () => {
    const plan = planOf(titanicClassifier(), { task: 'classification', missing: 'nan', inputs: { sex: { missing: { fill: 'unknown' } }, pclass: { missing: { fill: 3 } } } });
    expect(Object.fromEntries(plan.inputs!.map((i) => [i.name, i.missing]))).toEqual({
      pclass: { fill: 3 }, sex: { fill: 'unknown' }, embarked: 'error', age: 'nan', fare: 'nan', alone: 'error',
    });
  });

  it('refuses policies, dtypes and names that do not fit, naming the input', () => {
    expect(problemsOf(titanicClassifier(), { task: 'classification', inputs: { pclass: { missing: 'nan' }, sex: { missing: { fill: 0 } }, age: { missing: { fill: 'x' } } } })).toEqual([
      'the missing-value policy "nan" does not fit the model input "pclass" (int64): NaN is only for float inputs',
      'the missing-value policy {"fill":0} does not fit the model input "sex" (string): a string input takes a text fill, e.g. {"fill": "unknown"}',
      'the missing-value policy {"fill":"x"} does not fit the model input "age" (float32): a text fill is for string inputs',
    ]);
    expect(problemsOf(titanicClassifier(), { task: 'classification', inputs: { Pclass: {}, sex: { dtype: 'int64' } } })).toEqual([
      'the signature\'s inputs name "Pclass", which is not an input of the model; its inputs are "pclass", "sex", "embarked", "age", "fare", "alone"',
      'the signature\'s dtype for "sex" is int64 but the model input takes string',
    ]);
    expect(problemsOf(titanicClassifier(), { task: 'classification', inputs: { sex: { scale: 2 } } })).toEqual(['"scale" is for numeric inputs; the model input "sex" takes string']);
  });

  it('an input wider than one value needs its columns: the 422 names it, its type and shape', () => {
    expect(problemsOf(linearRegression([1, 2, 3], 0), { task: 'regression' })).toEqual([
      'the signature feeds no value to the model input "float_input" (float32 [N, 3]): an input taking one value per row is fed from the column of its name; give it "columns" under "inputs" (e.g. "inputs": {"float_input": {"columns": [...]}})',
    ]);
    const plan = planOf(linearRegression([1, 2, 3], 0), { task: 'regression', inputs: { float_input: { columns: ['a', 'b', 'c'], mean: [1, 2, 3], std: [1, 1, 2] } } });
    expect(plan.inputs).toEqual([{ name: 'float_input', type: 'float32', shape: [3], columns: ['a', 'b', 'c'], mean: [1, 2, 3], std: [1, 1, 2], missing: 'error' }]);
    expect(problemsOf(linearRegression([1, 2, 3], 0), { task: 'regression', inputs: { float_input: { columns: ['a', 'b'] } } })[0]).toMatch(/takes 3 values per row .* 2 columns/);
  });

  it('"nan" with the columns form: only for a float input', () => {
    expect(planOf(linearRegression([1, 2], 0), { columns: ['a', 'b'], missing: 'nan', task: 'regression' })).toMatchObject({ input: 'float_input', inputType: 'float32' });
  });
});

describe('plans of the columns form (every plan stored before issue 13) read as a list of inputs', () => {
  it('takes the signature policies', () => {
    const s = sig({ columns: ['a', 'b'], mean: [1, 2], std: [3, 4], scale: 2, missing: 'mean', task: 'regression', passthrough: ['id'] });
    const plan: RunPlan = { input: 'x', inputType: 'float64', inputShape: [-1, 2], maxBatch: null, value: 'y' };
    expect(planInputs(plan, s)).toEqual([{ name: 'x', type: 'float64', shape: [2], columns: ['a', 'b'], scale: 2, mean: [1, 2], std: [3, 4], missing: 'mean' }]);
    expect(featureColumns(plan, s)).toEqual(['a', 'b']);
    expect(neededColumns(plan, s)).toEqual(['a', 'b', 'id']);
    expect(inputFeeds(plan, s)).toEqual([{ input: 'x', type: 'float64', shape: ['N', 2], columns: ['a', 'b'], missing: 'mean', scale: 2, mean: [1, 2], std: [3, 4] }]);
  });
});
