import * as ort from 'onnxruntime-node';
import { classifierPath } from './modelFixtures.js';

let probed: Promise<boolean> | undefined;

/**
 * Whether this machine can run a session on onnxruntime's CUDA provider, asked of onnxruntime
 * directly (not of the code under test), so tests of the CUDA request hold with or without a GPU.
 */
export function cudaAvailable(): Promise<boolean> {
  probed ??= ort.InferenceSession.create(classifierPath, { executionProviders: ['cuda', 'cpu'] }).then(
    async (s) => (await s.release(), true),
    () => false,
  );
  return probed;
}
