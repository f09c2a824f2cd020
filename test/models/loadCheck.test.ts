import { describe, expect, it } from 'vitest';
import { loadCheck } from '../../src/models/loadCheck.js';
import { InvalidModelError, prepareGraph } from '../../src/models/onnx.js';
import { DataType, encodeModel, node, tensorValue } from '../../scripts/train/export.js';
import { failsAtRunModel, fixedWeights, notOnnx, sklearnStyleClassifier } from '../fixtures/onnxBuilder.js';

const timeoutMs = 20_000;

describe('loadCheck', () => {
  it('reports the names onnxruntime sees for a good (prepared) model, leaving the caller\'s bytes intact', async () => {
    const { bytes } = prepareGraph(sklearnStyleClassifier(fixedWeights(3, 4), [0, 0, 0]));
    const before = bytes.length;
    await expect(loadCheck(bytes, { timeoutMs })).resolves.toEqual({ inputNames: ['float_input'], outputNames: ['output_label', 'output_probability'] });
    expect(bytes.length).toBe(before);
  });

  it('turns garbage bytes into InvalidModelError carrying onnxruntime\'s message', async () => {
    const err = await loadCheck(notOnnx, { timeoutMs }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidModelError);
    expect((err as Error).message).toBe('Failed to load model because protobuf parsing failed.');
  });

  it('refuses a well-formed graph that uses an operator onnxruntime does not know', async () => {
    const bytes = encodeModel({
      name: 'unknown_op',
      input: [tensorValue('x', DataType.FLOAT, ['N', 2])],
      output: [tensorValue('y', DataType.FLOAT, ['N', 2])],
      node: [node('NoSuchOperator', ['x'], ['y'])],
    });
    await expect(loadCheck(bytes, { timeoutMs })).rejects.toThrow(InvalidModelError);
    await expect(loadCheck(bytes, { timeoutMs })).rejects.toThrow(/NoSuchOperator/);
  });

  it('loads a model that only fails when run (loading is all it checks)', async () => {
    await expect(loadCheck(failsAtRunModel(), { timeoutMs })).resolves.toEqual({ inputNames: ['x'], outputNames: ['y'] });
  });

  it('gives up after the deadline with InvalidModelError, and the caller carries on', async () => {
    // A thread cannot even start within 1 ms, so this exercises the terminate path without a hanging model.
    await expect(loadCheck(notOnnx, { timeoutMs: 1 })).rejects.toThrow('loading took longer than 1 ms');
    await expect(loadCheck(failsAtRunModel(), { timeoutMs })).resolves.toHaveProperty('inputNames', ['x']);
  });
});
