import { prepareGraph } from '../../src/models/onnx.js';
import { planRun } from '../../src/models/plan.js';
import { SignatureSchema, type Signature } from '../../src/models/signature.js';
import type { RunPlan } from '../../src/models/types.js';

/** Registration's planning without the onnxruntime load check: decode, apply the rewrites, plan. */
export function inspectAndPlan(bytes: Uint8Array, signature: Signature) {
  const prepared = prepareGraph(bytes);
  return { prepared, ...planRun(signature, prepared) };
}

/** The plan registration would settle for this model and signature; throws if it has problems. */
export function planOf(bytes: Uint8Array, s: Record<string, unknown>): RunPlan {
  const r = inspectAndPlan(bytes, SignatureSchema.parse(s));
  if ('problems' in r) throw new Error(`unexpected problems: ${r.problems.join('; ')}`);
  return r.plan;
}

/** The problems registration would name for this model and signature; throws if it would plan. */
export function problemsOf(bytes: Uint8Array, s: Record<string, unknown>): string[] {
  const r = inspectAndPlan(bytes, SignatureSchema.parse(s));
  if (!('problems' in r)) throw new Error(`expected problems, got plan ${JSON.stringify(r.plan)}`);
  return r.problems;
}
