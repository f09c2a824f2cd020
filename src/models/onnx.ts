// Reading ONNX files with onnx-proto (protobufjs): decode, list inputs/outputs, and the graph
// rewrites that make real exports runnable by onnxruntime-node.
import pkg from 'onnx-proto';
import type { onnx } from 'onnx-proto';
import { HttpError } from '../errors.js';
import type { TensorInfo } from './types.js';

const proto = pkg.onnx;
const DT = proto.TensorProto.DataType;

/** The bytes are not a usable ONNX model. The message is meant for the person who uploaded it, and is bare (no "invalid model:" prefix) so callers can frame it. */
export class InvalidModelError extends Error {
  readonly code = 'invalid_model' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'InvalidModelError';
  }
}

/**
 * The model keeps tensor data outside the file (data_location EXTERNAL: a `location` onnxruntime
 * resolves against the model's folder, or the api's working directory for bytes). Sluice stores
 * one self-contained file per version, so such a model is refused outright: loading it would read
 * files of the api and worker hosts (issue 12 item 2). An HttpError, not an InvalidModelError, so
 * it reaches the client as 422 external_data_not_supported.
 */
export class ExternalDataError extends HttpError {
  override name = 'ExternalDataError';
  constructor(tensor: string) {
    super(
      'external_data_not_supported',
      `The model stores the data of tensor "${tensor}" outside the file (external data), which Sluice does not support: save the model with all tensors inside it (e.g. onnx.save_model(model, path, save_as_external_data=False)).`,
    );
  }
}

/** protobufjs hands int64 fields back as Long when the `long` package is present. */
type Int64 = number | { toNumber(): number; toString(): string };
const num = (v: Int64 | null | undefined) => (v == null ? 0 : typeof v === 'number' ? v : v.toNumber());
const text = (b: Uint8Array) => new TextDecoder().decode(b);

export function decodeModel(bytes: Uint8Array): onnx.ModelProto {
  let model: onnx.ModelProto;
  try {
    model = proto.ModelProto.decode(bytes);
  } catch (err) {
    throw new InvalidModelError(`protobuf decoding failed (${(err as Error).message}); an ONNX file is a serialized ModelProto`, { cause: err });
  }
  // Random bytes sometimes decode as a message of unknown fields: a real model always has a graph.
  if (!model.graph) throw new InvalidModelError('the model has no graph');
  if (!model.graph.output?.length) throw new InvalidModelError("the model's graph has no outputs");
  const external = externalTensor(model);
  if (external !== undefined) throw new ExternalDataError(external);
  return model;
}

const isExternal = (t: onnx.ITensorProto | null | undefined) =>
  !!t && (t.dataLocation === proto.TensorProto.DataLocation.EXTERNAL || (t.externalData?.length ?? 0) > 0);

/**
 * The name of the first tensor anywhere in the model whose data is external: initializers (sparse
 * ones too), tensor attributes (Constant's value, ConstantOfShape's…), subgraphs of If/Loop/Scan,
 * training initializers and functions' nodes. Depth-limited: protobuf allows nesting without end.
 */
function externalTensor(model: onnx.IModelProto): string | undefined {
  const sparse = (s: onnx.ISparseTensorProto | null | undefined) => (s && (isExternal(s.values) || isExternal(s.indices)) ? (s.values?.name ?? '') : undefined);
  function inGraph(g: onnx.IGraphProto | null | undefined, depth: number): string | undefined {
    if (!g || depth > 64) return undefined;
    for (const t of g.initializer ?? []) if (isExternal(t)) return t.name ?? '';
    for (const s of g.sparseInitializer ?? []) {
      const name = sparse(s);
      if (name !== undefined) return name;
    }
    return inNodes(g.node, depth);
  }
  function inNodes(nodes: onnx.INodeProto[] | null | undefined, depth: number): string | undefined {
    for (const n of nodes ?? []) {
      for (const a of n.attribute ?? []) {
        if (isExternal(a.t)) return a.t!.name || `${n.name ?? n.opType}.${a.name}`;
        for (const t of a.tensors ?? []) if (isExternal(t)) return t.name || `${n.name ?? n.opType}.${a.name}`;
        for (const s of [a.sparseTensor, ...(a.sparseTensors ?? [])]) {
          const name = sparse(s);
          if (name !== undefined) return name || `${n.name ?? n.opType}.${a.name}`;
        }
        for (const g of [a.g, ...(a.graphs ?? [])]) {
          const name = inGraph(g, depth + 1);
          if (name !== undefined) return name;
        }
      }
    }
    return undefined;
  }
  const found = inGraph(model.graph, 0);
  if (found !== undefined) return found;
  // Fields newer than some onnx-proto schemas: read loosely.
  const loose = model as { trainingInfo?: { initialization?: onnx.IGraphProto; algorithm?: onnx.IGraphProto }[]; functions?: { node?: onnx.INodeProto[] }[] };
  for (const ti of loose.trainingInfo ?? []) {
    const name = inGraph(ti.initialization, 1) ?? inGraph(ti.algorithm, 1);
    if (name !== undefined) return name;
  }
  for (const f of loose.functions ?? []) {
    const name = inNodes(f.node, 1);
    if (name !== undefined) return name;
  }
  return undefined;
}

// Element type names as onnxruntime-node's Tensor.Type spells them.
const ORT_NAMES: Record<number, string> = {
  [DT.FLOAT]: 'float32',
  [DT.UINT8]: 'uint8',
  [DT.INT8]: 'int8',
  [DT.UINT16]: 'uint16',
  [DT.INT16]: 'int16',
  [DT.INT32]: 'int32',
  [DT.INT64]: 'int64',
  [DT.STRING]: 'string',
  [DT.BOOL]: 'bool',
  [DT.FLOAT16]: 'float16',
  [DT.DOUBLE]: 'float64',
  [DT.UINT32]: 'uint32',
  [DT.UINT64]: 'uint64',
  [DT.COMPLEX64]: 'complex64',
  [DT.COMPLEX128]: 'complex128',
  [DT.BFLOAT16]: 'bfloat16',
  // Added after onnx-proto's ONNX 1.10 schema; the numbers are stable.
  17: 'float8e4m3fn',
  18: 'float8e4m3fnuz',
  19: 'float8e5m2',
  20: 'float8e5m2fnuz',
  21: 'uint4',
  22: 'int4',
};

/** ONNX's own spelling, used inside descriptions of non-tensor types: seq(map(int64,tensor(float))). */
function onnxElemName(t: number | null | undefined): string {
  const name = DT[t ?? 0] as string | undefined;
  return name ? name.toLowerCase() : `type${t}`;
}

function describeNonTensor(t: onnx.ITypeProto | null | undefined): string {
  if (!t) return 'unknown';
  if (t.tensorType) return `tensor(${onnxElemName(t.tensorType.elemType)})`;
  if (t.sequenceType) return `seq(${describeNonTensor(t.sequenceType.elemType)})`;
  if (t.mapType) return `map(${onnxElemName(t.mapType.keyType)},${describeNonTensor(t.mapType.valueType)})`;
  if (t.optionalType) return `optional(${describeNonTensor(t.optionalType.elemType)})`;
  if (t.sparseTensorType) return `sparse_tensor(${onnxElemName(t.sparseTensorType.elemType)})`;
  return 'unknown';
}

export function tensorInfo(v: onnx.IValueInfoProto): TensorInfo {
  const name = v.name ?? '';
  const tt = v.type?.tensorType;
  if (!tt) return { name, type: describeNonTensor(v.type), dims: [] };
  const type = ORT_NAMES[tt.elemType ?? 0] ?? onnxElemName(tt.elemType);
  // No shape at all means unknown rank; it is listed as no dims.
  const dims = (tt.shape?.dim ?? []).map((d) => (d.dimValue != null ? num(d.dimValue) : d.dimParam != null ? d.dimParam : null));
  return { name, type, dims };
}

export const isTensor = (t: TensorInfo) => !/^(seq|map|optional|sparse_tensor|unknown)\b/.test(t.type);

export function listInputs(graph: onnx.IGraphProto): TensorInfo[] {
  // Before IR 4 initializers were listed as inputs too; they have defaults and are never fed.
  const inits = new Set((graph.initializer ?? []).map((i) => i.name));
  return (graph.input ?? []).filter((i) => !inits.has(i.name)).map(tensorInfo);
}

export function listOutputs(graph: onnx.IGraphProto): TensorInfo[] {
  return (graph.output ?? []).map(tensorInfo);
}

function attribute(n: onnx.INodeProto, name: string) {
  return n.attribute?.find((a) => a.name === name);
}

/** classlabels_strings / classlabels_int64s (ZipMap, TreeEnsemble) / classlabels_ints (Linear, SVM), as strings. */
function classLabelsOf(n: onnx.INodeProto): string[] | undefined {
  const strings = attribute(n, 'classlabels_strings')?.strings;
  if (strings?.length) return strings.map(text);
  for (const k of ['classlabels_int64s', 'classlabels_ints']) {
    const ints = attribute(n, k)?.ints as Int64[] | undefined;
    if (ints?.length) return ints.map((i) => i.toString());
  }
  return undefined;
}

const CLASSIFIER_OPS = new Set(['ZipMap', 'LinearClassifier', 'TreeEnsembleClassifier', 'SVMClassifier']);
// Ops that only move or re-type values: looking through them finds the op that computed a tensor.
const PASSTHROUGH_OPS = new Set(['Identity', 'Cast', 'Reshape', 'Flatten', 'Squeeze', 'Unsqueeze', 'Dropout']);

/** The op that computed each graph output, looking through PASSTHROUGH_OPS (undefined for inputs/initializers). */
function producersOf(graph: onnx.IGraphProto): Record<string, string> {
  const byOutput = new Map<string, onnx.INodeProto>();
  for (const n of graph.node ?? []) for (const o of n.output ?? []) if (o) byOutput.set(o, n);
  const out: Record<string, string> = {};
  for (const o of graph.output ?? []) {
    let n = byOutput.get(o.name ?? '');
    for (let hops = 0; n && PASSTHROUGH_OPS.has(n.opType ?? '') && hops < 64; hops++) n = byOutput.get(n.input?.[0] ?? '');
    if (n?.opType) out[o.name ?? ''] = n.opType;
  }
  return out;
}

export interface PreparedGraph {
  /** The model to run: the original bytes when nothing was rewritten. */
  bytes: Uint8Array;
  inputs: TensorInfo[];
  outputs: TensorInfo[];
  /** What was changed, for people: e.g. ZipMap removed. */
  rewrites: string[];
  /** Class names found in the graph (ZipMap or an ai.onnx.ml classifier), in probability-column order. */
  classLabels?: string[];
  /** Graph outputs that replaced a ZipMap: [N, C] class probabilities. */
  probabilityOutputs: string[];
  /** Graph output → op type that computed it (through Identity/Cast/Reshape…), for telling logits from probabilities. */
  producers: Record<string, string>;
}

export function inspectModel(bytes: Uint8Array): { inputs: TensorInfo[]; outputs: TensorInfo[] } {
  const { graph } = decodeModel(bytes);
  return { inputs: listInputs(graph!), outputs: listOutputs(graph!) };
}

/**
 * Makes the graph runnable by onnxruntime-node. skl2onnx classifiers end in a ZipMap whose
 * seq(map) output onnxruntime-node cannot return: the ZipMap goes, and its [N, C] float input
 * is exposed under the ZipMap's output name, so a signature written against the sklearn
 * model's documented outputs still reads.
 */
export function prepareGraph(bytes: Uint8Array): PreparedGraph {
  const model = decodeModel(bytes);
  const graph = model.graph!;
  const nodes = graph.node ?? [];
  const rewrites: string[] = [];
  const probabilityOutputs: string[] = [];
  let classLabels: string[] | undefined;

  const graphOutputs = new Set((graph.output ?? []).map((o) => o.name));
  const consumed = new Set(nodes.flatMap((n) => n.input ?? []));
  const hasDefaultDomain = (model.opsetImport ?? []).some((o) => !o.domain || o.domain === 'ai.onnx');
  const batchDim = graph.input?.find((i) => !(graph.initializer ?? []).some((t) => t.name === i.name))?.type?.tensorType?.shape?.dim?.[0];

  for (const n of [...nodes]) {
    if (n.opType !== 'ZipMap') continue;
    const zOut = n.output?.[0] ?? '';
    const zIn = n.input?.[0] ?? '';
    if (!graphOutputs.has(zOut) || consumed.has(zOut) || !zIn) continue;
    const labels = classLabelsOf(n);
    classLabels ??= labels;
    graph.node = graph.node!.filter((x) => x !== n);
    // Keep the public name when an Identity can carry it; otherwise expose the input tensor itself.
    const exposed = hasDefaultDomain ? zOut : zIn;
    if (exposed === zOut) graph.node.push({ opType: 'Identity', domain: '', name: `sluice_unzip_${zOut}`, input: [zIn], output: [zOut] });
    const dims: onnx.TensorShapeProto.IDimension[] = [batchDim ? { ...batchDim } : { dimParam: 'N' }, labels ? { dimValue: labels.length } : {}];
    const value: onnx.IValueInfoProto = { name: exposed, type: { tensorType: { elemType: DT.FLOAT, shape: { dim: dims } } } };
    const at = graph.output!.findIndex((o) => o.name === zOut);
    if (exposed !== zOut && graphOutputs.has(exposed)) graph.output!.splice(at, 1);
    else graph.output![at] = value;
    probabilityOutputs.push(exposed);
    rewrites.push(
      `removed ZipMap "${n.name || zOut}" (its seq(map) output cannot be returned by onnxruntime-node); "${exposed}" now gives the [N, ${labels?.length ?? 'C'}] class probabilities as a float tensor`,
    );
  }

  if (!classLabels) for (const n of nodes) if (CLASSIFIER_OPS.has(n.opType ?? '') && (classLabels = classLabelsOf(n))) break;

  const bytesOut = rewrites.length ? proto.ModelProto.encode(model).finish() : bytes;
  return {
    bytes: bytesOut,
    inputs: listInputs(graph),
    outputs: listOutputs(graph),
    rewrites,
    ...(classLabels ? { classLabels } : {}),
    probabilityOutputs,
    producers: producersOf(graph),
  };
}
