// A run plan's inputs, whichever form it was stored in: plans with `inputs` list them; plans of
// the `columns` form (all plans stored before issue 13) feed one numeric input, with the
// signature's policies. Converting on read keeps every stored version running unchanged.
import type { Signature } from './signature.js';
import type { PlanInput, RunPlan } from './types.js';

export function planInputs(plan: RunPlan, signature: Signature): PlanInput[] {
  if (plan.inputs) return plan.inputs;
  if (!plan.input || !plan.inputType || !plan.inputShape || !signature.columns) throw new Error('the run plan names no input');
  return [
    {
      name: plan.input,
      type: plan.inputType,
      shape: plan.inputShape.slice(1),
      columns: signature.columns,
      ...(signature.scale !== undefined ? { scale: signature.scale } : {}),
      ...(signature.mean ? { mean: signature.mean } : {}),
      ...(signature.std ? { std: signature.std } : {}),
      missing: signature.missing,
    },
  ];
}

/** The columns the model reads, each once, in the order inputs first name them (passthrough not included). */
export function featureColumns(plan: RunPlan, signature: Signature): string[] {
  if (!plan.inputs) return signature.columns ?? [];
  return uniqueColumns(plan.inputs);
}

export function uniqueColumns(inputs: readonly Pick<PlanInput, 'columns'>[]): string[] {
  return [...new Set(inputs.flatMap((i) => i.columns))];
}

/** What an upload must carry: the feature columns and the passthrough ones. */
export function neededColumns(plan: RunPlan, signature: Signature): string[] {
  return [...featureColumns(plan, signature), ...signature.passthrough];
}

/**
 * How each graph input is fed, for people (GET /v1/models/{name}/versions/{v}): from which
 * columns, read as which type, with which missing-value policy and normalisation.
 */
export function inputFeeds(plan: RunPlan, signature: Signature): Record<string, unknown>[] {
  return planInputs(plan, signature).map((i) => ({
    input: i.name,
    type: i.type,
    shape: ['N', ...i.shape],
    columns: i.columns,
    missing: i.missing,
    ...(i.scale !== undefined ? { scale: i.scale } : {}),
    ...(i.mean ? { mean: i.mean } : {}),
    ...(i.std ? { std: i.std } : {}),
  }));
}
