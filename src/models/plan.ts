// Registration-time check that a signature fits a model, settling the RunPlan workers follow.
// Every refusal is a sentence for the person registering the model, naming what the model has.
import { INPUT_DTYPES, type InputDtype, type InputSpec, type MissingPolicy, type Signature } from './signature.js';
import type { PlanInput, RunPlan, TensorInfo } from './types.js';
import { isTensor, type PreparedGraph } from './onnx.js';

/** What onnxruntime itself reports after loading (see loadCheck): the names it will accept. */
export interface OrtMeta {
  inputNames: readonly string[];
  outputNames: readonly string[];
}

type PlanResult = { plan: RunPlan } | { problems: string[] };

const INPUT_TYPES = ['float32', 'float64', 'int64', 'int32'] as const;
type InputType = (typeof INPUT_TYPES)[number];
const FLOAT_TYPES = new Set(['float32', 'float64', 'float16']);
const LABEL_TYPES = new Set(['int64', 'int32', 'string']);
// A classification output computed by one of these is already probabilities or scores.
const PROBABILITY_OPS = new Set(['Softmax', 'Sigmoid', 'ZipMap', 'LinearClassifier', 'TreeEnsembleClassifier', 'SVMClassifier', 'Normalizer', 'Div']);
// …and one computed by one of these is plainly logits. LogSoftmax belongs here: softmax(log p) = p.
const LOGIT_OPS = new Set(['Gemm', 'MatMul', 'Add', 'Conv', 'MatMulInteger', 'QLinearMatMul', 'Einsum', 'LogSoftmax']);

const isDynamic = (d: number | string | null) => typeof d !== 'number' || d < 1;
const fmtDims = (dims: TensorInfo['dims']) =>
  `[${dims.map((d, i) => (typeof d === 'number' && d >= 1 ? d : i === 0 ? 'N' : typeof d === 'string' && d ? d : '?')).join(', ')}]`;
const names = (ts: TensorInfo[]) => ts.map((t) => `"${t.name}"`).join(', ');
const describe = (t: TensorInfo) => `"${t.name}" (${t.type}${isTensor(t) ? ` ${fmtDims(t.dims)}` : ''})`;

/** Row shape check: numbers must match, dynamic dims accept anything. Returns the settled row shape or a problem. */
function settleRowShape(sig: { columns: readonly string[]; shape?: number[] }, input: TensorInfo): { rowShape: number[] } | { problem: string } {
  const n = sig.columns.length;
  // No declared shape at all: the signature decides.
  if (input.dims.length === 0) return { rowShape: sig.shape ?? [n] };
  const rest = input.dims.slice(1);
  const fixedRest = rest.every((d) => !isDynamic(d));
  const perRow = rest.reduce<number>((a, d) => a * (d as number), 1);
  const wants = sig.shape ?? [n];
  const what = fixedRest && rest.length <= 1 ? `takes ${perRow} value${perRow === 1 ? '' : 's'} per row` : `takes rows shaped ${fmtDims(rest)}`;
  const have = sig.shape ? `the signature's shape is ${JSON.stringify(sig.shape)}` : `the signature has ${n} column${n === 1 ? '' : 's'}`;
  const mismatch = { problem: `the model input "${input.name}" ${what} (${fmtDims(input.dims)}) but ${have}` };

  if (rest.length === 0) return n === 1 && (!sig.shape || sig.shape.every((d) => d === 1)) ? { rowShape: [] } : mismatch;
  if (!sig.shape && rest.length > 1) {
    // e.g. 784 pixel columns for a [N, 28, 28, 1] input: the model's own dims say how to fold them.
    if (fixedRest) return perRow === n ? { rowShape: rest as number[] } : mismatch;
    return { problem: `the model input "${input.name}" takes rows shaped ${fmtDims(rest)} (${fmtDims(input.dims)}): give the signature a "shape" saying how its ${n} columns fold into that` };
  }
  if (rest.length !== wants.length) return mismatch;
  return rest.every((d, i) => isDynamic(d) || d === wants[i]) ? { rowShape: wants } : mismatch;
}

function pickInput(sig: Signature, prepared: PreparedGraph, problems: string[]): TensorInfo | undefined {
  const inputs = prepared.inputs;
  if (inputs.length === 0) {
    problems.push('the model has no inputs to feed');
    return undefined;
  }
  if (sig.input) {
    const found = inputs.find((i) => i.name === sig.input);
    if (!found) problems.push(`the signature's input "${sig.input}" is not an input of the model; its inputs are ${names(inputs)}`);
    else if (inputs.length > 1) problems.push(`the model needs inputs ${names(inputs.filter((i) => i !== found))} besides "${found.name}", which a signature with "columns" cannot fill: leave "columns" out and feed each input (by name, or under "inputs")`);
    return found;
  }
  if (inputs.length > 1) {
    problems.push(`the model has ${inputs.length} inputs (${names(inputs)}): a signature with "columns" feeds exactly one; leave "columns" out and feed each input (by name, or under "inputs")`);
    return undefined;
  }
  return inputs[0];
}

function pickNamedOutput(sig: Signature, outputs: TensorInfo[], problems: string[]): TensorInfo | undefined {
  if (!sig.output) return undefined;
  const found = outputs.find((o) => o.name === sig.output);
  if (!found) problems.push(`the signature's output "${sig.output}" is not an output of the model; its outputs are ${outputs.map(describe).join(', ')}`);
  else if (!isTensor(found)) problems.push(`the output "${found.name}" is a ${found.type}, which onnxruntime-node cannot return; choose a tensor output`);
  return found;
}

const perRowSize = (t: TensorInfo): number | null => (t.dims.slice(1).some(isDynamic) ? null : t.dims.slice(1).reduce<number>((a, d) => a * (d as number), 1));

function planClassification(sig: Signature, prepared: PreparedGraph, tensors: TensorInfo[], named: TensorInfo | undefined, problems: string[]): Partial<RunPlan> {
  const isProbs = (t: TensorInfo) => FLOAT_TYPES.has(t.type) && (t.dims.length === 2 || t.dims.length === 0);
  let probs: TensorInfo | undefined;
  if (named) {
    if (isProbs(named)) probs = named;
    else problems.push(`for classification the output "${named.name}" must be [N, C] float class probabilities or scores, but it is ${describe(named)}`);
  } else {
    const candidates = tensors.filter(isProbs);
    probs =
      candidates.find((t) => prepared.probabilityOutputs.includes(t.name)) ??
      candidates.find((t) => PROBABILITY_OPS.has(prepared.producers[t.name] ?? '')) ??
      candidates.find((t) => /prob/i.test(t.name)) ??
      candidates[0];
    if (!probs) problems.push(`the model has no [N, C] float output to read class probabilities from; its outputs are ${prepared.outputs.map(describe).join(', ')}`);
  }
  const label = tensors.find((t) => t !== probs && LABEL_TYPES.has(t.type) && t.dims.length <= 2 && (t.dims.length < 2 || t.dims[1] === 1));
  const labels = sig.labels ?? prepared.classLabels;
  const c = probs?.dims[1];
  if (sig.labels && typeof c === 'number' && c >= 1 && c !== sig.labels.length) {
    problems.push(`the signature has ${sig.labels.length} labels but the output "${probs!.name}" has ${c} classes (${fmtDims(probs!.dims)})`);
  } else if (sig.labels && prepared.classLabels && prepared.classLabels.length !== sig.labels.length) {
    problems.push(`the signature has ${sig.labels.length} labels but the model has ${prepared.classLabels.length} classes (${prepared.classLabels.join(', ')})`);
  }
  if (!probs) return {};
  const producer = prepared.producers[probs.name] ?? '';
  return {
    probabilities: probs.name,
    ...(label ? { label: label.name } : {}),
    ...(labels ? { labels } : {}),
    softmax: LOGIT_OPS.has(producer),
  };
}

function planRegression(tensors: TensorInfo[], named: TensorInfo | undefined, problems: string[]): Partial<RunPlan> {
  let value = named;
  if (!value) {
    const floats = tensors.filter((t) => FLOAT_TYPES.has(t.type));
    if (floats.length === 1) value = floats[0];
    else {
      problems.push(
        floats.length === 0
          ? `the model has no float output to read a regression value from; its outputs are ${names(tensors)}`
          : `the model has ${floats.length} float outputs (${names(floats)}): name the value in the signature's "output"`,
      );
      return {};
    }
  }
  const size = perRowSize(value);
  if (size !== null && size !== 1) problems.push(`a regression output gives one value per row, but "${value.name}" gives ${size} (${fmtDims(value.dims)})`);
  return { value: value.name };
}

/**
 * The `columns` form gives the plan of one numeric input exactly as before issue 13 (input,
 * inputType, inputShape; its policies stay in the signature); without `columns` every graph
 * input is settled into `inputs`, policies included.
 */
export function planRun(signature: Signature, prepared: PreparedGraph, ortMeta?: OrtMeta): PlanResult {
  const problems: string[] = [];
  if (!signature.columns) {
    const fed = settleInputs(signature, prepared, problems);
    if (ortMeta) for (const i of fed.inputs) if (!ortMeta.inputNames.includes(i.name)) problems.push(`onnxruntime does not list "${i.name}" among the model's inputs (${ortMeta.inputNames.join(', ')})`);
    const outputs = planOutputs(signature, prepared, problems, ortMeta);
    if (problems.length) return { problems };
    return { plan: { inputs: fed.inputs, maxBatch: fed.maxBatch, ...outputs } };
  }
  const columns = signature.columns;
  const input = pickInput(signature, prepared, problems);
  let inputType: InputType = signature.dtype ?? 'float32';
  let rowShape: number[] = signature.shape ?? [columns.length];
  let maxBatch: number | null = null;
  if (input) {
    if (!isTensor(input)) problems.push(`the model input "${input.name}" is a ${input.type}, not a tensor`);
    else if ((INPUT_TYPES as readonly string[]).includes(input.type)) inputType = input.type as InputType;
    else problems.push(`the model input "${input.name}" takes ${input.type} values; supported are ${INPUT_TYPES.join(', ')}`);
    if (signature.dtype && isTensor(input) && input.type !== signature.dtype) {
      problems.push(`the signature's dtype is ${signature.dtype} but the model input "${input.name}" takes ${input.type}`);
    }
    const shape = settleRowShape({ columns, shape: signature.shape }, input);
    if ('problem' in shape) problems.push(shape.problem);
    else rowShape = shape.rowShape;
    maxBatch = batchOf(input);
  }
  if (signature.missing === 'nan' && !FLOAT_TYPES.has(inputType)) problems.push(`"missing": "nan" passes NaN, which only a float input can hold; the model input${input ? ` "${input.name}"` : ''} takes ${inputType}`);
  if (input && ortMeta && !ortMeta.inputNames.includes(input.name)) problems.push(`onnxruntime does not list "${input.name}" among the model's inputs (${ortMeta.inputNames.join(', ')})`);
  const outputs = planOutputs(signature, prepared, problems, ortMeta);
  if (problems.length || !input) return { problems };
  return { plan: { input: input.name, inputType, inputShape: [-1, ...rowShape], maxBatch, ...outputs } };
}

/** Which outputs to read for the task, the same whichever way the inputs are fed. */
function planOutputs(signature: Signature, prepared: PreparedGraph, problems: string[], ortMeta?: OrtMeta): Partial<RunPlan> {
  const tensors = prepared.outputs.filter(isTensor);
  const named = pickNamedOutput(signature, prepared.outputs, problems);
  let outputs: Partial<RunPlan> = {};
  // A named output that is missing or unreadable is already reported: guessing another would only add noise.
  const namedUnusable = signature.output !== undefined && (!named || !isTensor(named));
  if (namedUnusable) outputs = {};
  else if (signature.task === 'classification') outputs = planClassification(signature, prepared, tensors, named, problems);
  else if (signature.task === 'regression') outputs = planRegression(tensors, named, problems);
  else if (named) outputs = { value: named.name };
  else if (tensors[0]) outputs = { value: tensors[0].name };
  else problems.push(`the model has no tensor output to return; its outputs are ${prepared.outputs.map(describe).join(', ')}`);

  if (ortMeta) {
    for (const o of [outputs.probabilities, outputs.label, outputs.value]) {
      if (o && !ortMeta.outputNames.includes(o)) problems.push(`onnxruntime does not list "${o}" among the model's outputs (${ortMeta.outputNames.join(', ')})`);
    }
  }
  return outputs;
}

const batchOf = (t: TensorInfo): number | null => {
  const b = t.dims[0];
  return b === undefined || isDynamic(b) ? null : (b as number);
};

/** A graph input takes one value per row: [N], [N, 1], or [N, ?] (skl2onnx writes [None, 1]). */
const takesOneValue = (t: TensorInfo) => t.dims.length <= 1 || (t.dims.length === 2 && (t.dims[1] === 1 || isDynamic(t.dims[1])));
const NUMERIC = new Set(['float32', 'float64', 'int64', 'int32']);

/**
 * The per-column and `inputs` forms: every graph input is fed, from the columns its `inputs`
 * entry names or, for an input taking one value per row, from the column of its own name.
 */
function settleInputs(sig: Signature, prepared: PreparedGraph, problems: string[]): { inputs: PlanInput[]; maxBatch: number | null } {
  const graphInputs = prepared.inputs;
  const specs = sig.inputs ?? {};
  if (graphInputs.length === 0) problems.push('the model has no inputs to feed');
  for (const name of Object.keys(specs)) {
    if (!graphInputs.some((t) => t.name === name)) problems.push(`the signature's inputs name "${name}", which is not an input of the model; its inputs are ${names(graphInputs)}`);
  }
  const inputs: PlanInput[] = [];
  const unfed: TensorInfo[] = [];
  let maxBatch: number | null = null;
  for (const t of graphInputs) {
    const spec: InputSpec = Object.hasOwn(specs, t.name) ? specs[t.name] : {};
    if (!isTensor(t)) {
      problems.push(`the model input "${t.name}" is a ${t.type}, not a tensor`);
      continue;
    }
    if (!(INPUT_DTYPES as readonly string[]).includes(t.type)) {
      problems.push(`the model input "${t.name}" takes ${t.type} values; supported are ${INPUT_DTYPES.join(', ')}`);
      continue;
    }
    const type = t.type as InputDtype;
    if (spec.dtype && spec.dtype !== type) problems.push(`the signature's dtype for "${t.name}" is ${spec.dtype} but the model input takes ${type}`);
    const columns = spec.columns ?? (takesOneValue(t) ? [t.name] : undefined);
    if (!columns) {
      unfed.push(t);
      continue;
    }
    const shape = settleRowShape({ columns, shape: spec.shape }, t);
    if ('problem' in shape) problems.push(shape.problem);
    if (!NUMERIC.has(type)) {
      for (const k of ['scale', 'mean', 'std'] as const) if (spec[k] !== undefined) problems.push(`"${k}" is for numeric inputs; the model input "${t.name}" takes ${type}`);
    }
    const missing = settleMissing(t.name, type, spec, sig.missing, problems);
    const b = batchOf(t);
    if (b !== null) maxBatch = maxBatch === null ? b : Math.min(maxBatch, b);
    inputs.push({
      name: t.name, type, shape: 'problem' in shape ? [columns.length] : shape.rowShape, columns,
      ...(spec.scale !== undefined ? { scale: spec.scale } : {}),
      ...(spec.mean ? { mean: spec.mean } : {}),
      ...(spec.std ? { std: spec.std } : {}),
      missing,
    });
  }
  if (unfed.length) {
    problems.push(
      `the signature feeds no value to the model input${unfed.length > 1 ? 's' : ''} ${unfed.map(describe).join(', ')}: an input taking one value per row is fed from the column of its name; give ${unfed.length > 1 ? 'the others' : 'it'} "columns" under "inputs" (e.g. "inputs": {"${unfed[0].name}": {"columns": [...]}})`,
    );
  }
  return { inputs, maxBatch };
}

/** Whether a missing-value policy fits an input's type; a reason when it does not. */
function misfit(policy: MissingPolicy, type: InputDtype, hasMean: boolean): string | null {
  if (policy === 'error') return null;
  if (policy === 'nan') return type === 'float32' || type === 'float64' ? null : 'NaN is only for float inputs';
  if (policy === 'mean') return !NUMERIC.has(type) ? '"mean" is for numeric inputs' : hasMean ? null : '"mean" needs the input\'s "mean"';
  if (typeof policy.fill === 'string') return type === 'string' ? null : 'a text fill is for string inputs';
  return type === 'string' ? 'a string input takes a text fill, e.g. {"fill": "unknown"}' : null;
}

/** The input's own policy must fit it; the signature's applies where it fits, else a missing value is a row error. */
function settleMissing(name: string, type: InputDtype, spec: InputSpec, fallback: MissingPolicy, problems: string[]): MissingPolicy {
  if (spec.missing !== undefined) {
    const why = misfit(spec.missing, type, !!spec.mean);
    if (why) problems.push(`the missing-value policy ${JSON.stringify(spec.missing)} does not fit the model input "${name}" (${type}): ${why}`);
    return spec.missing;
  }
  return misfit(fallback, type, !!spec.mean) ? 'error' : fallback;
}
