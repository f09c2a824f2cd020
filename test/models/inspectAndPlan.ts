import { prepareGraph } from '../../src/models/onnx.js';
import { planRun } from '../../src/models/plan.js';
import type { Signature } from '../../src/models/signature.js';

/** Registration's planning without the onnxruntime load check: decode, apply the rewrites, plan. */
export function inspectAndPlan(bytes: Uint8Array, signature: Signature) {
  const prepared = prepareGraph(bytes);
  return { prepared, ...planRun(signature, prepared) };
}
