// ONNX writing with onnx-proto: a few graph-building primitives (shared with the test fixtures)
// and the exporters for the two demo models. Normalisation stays out of the graphs: the
// signature's mean/std do it, so the graphs take z-scored features.
import pkg from 'onnx-proto';
import type { onnx } from 'onnx-proto';

const proto = pkg.onnx;
export const DataType = proto.TensorProto.DataType;
export const ML_DOMAIN = 'ai.onnx.ml';

/** A dim as declared in a value info: a size, a dim_param name ("" included), or null for neither. */
export type Dim = number | string | null;

const utf8 = (s: string) => new TextEncoder().encode(s);

export function tensorValue(name: string, elemType: number, dims: Dim[]): onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : d === null ? {} : { dimParam: d })) },
      },
    },
  };
}

/** skl2onnx's classifier output type: seq(map(int64|string, tensor(float))). */
export function seqMapValue(name: string, keyType: number): onnx.IValueInfoProto {
  return {
    name,
    type: { sequenceType: { elemType: { mapType: { keyType, valueType: { tensorType: { elemType: DataType.FLOAT } } } } } },
  };
}

export function floatTensor(name: string, dims: number[], values: ArrayLike<number>): onnx.ITensorProto {
  if (values.length !== dims.reduce((a, b) => a * b, 1)) throw new Error(`${name}: ${values.length} values for dims ${dims}`);
  return { name, dims, dataType: DataType.FLOAT, floatData: Array.from(values) };
}

export function int64Tensor(name: string, dims: number[], values: number[]): onnx.ITensorProto {
  return { name, dims, dataType: DataType.INT64, int64Data: values };
}

export function stringTensor(name: string, dims: number[], values: string[]): onnx.ITensorProto {
  return { name, dims, dataType: DataType.STRING, stringData: values.map(utf8) };
}

const A = proto.AttributeProto.AttributeType;
export const attr = {
  int: (name: string, i: number): onnx.IAttributeProto => ({ name, type: A.INT, i }),
  float: (name: string, f: number): onnx.IAttributeProto => ({ name, type: A.FLOAT, f }),
  ints: (name: string, ints: number[]): onnx.IAttributeProto => ({ name, type: A.INTS, ints }),
  floats: (name: string, floats: ArrayLike<number>): onnx.IAttributeProto => ({ name, type: A.FLOATS, floats: Array.from(floats) }),
  string: (name: string, s: string): onnx.IAttributeProto => ({ name, type: A.STRING, s: utf8(s) }),
  strings: (name: string, strings: string[]): onnx.IAttributeProto => ({ name, type: A.STRINGS, strings: strings.map(utf8) }),
};

export function node(opType: string, input: string[], output: string[], attribute: onnx.IAttributeProto[] = [], domain = ''): onnx.INodeProto {
  return { opType, input, output, attribute, domain, name: `${opType}_${output[0]}` };
}

export interface Opset {
  domain: string;
  version: number;
}

/** IR version 8 with opset 13 by default: what onnxruntime of any recent version loads. */
export function encodeModel(graph: onnx.IGraphProto, opsets: Opset[] = [{ domain: '', version: 13 }]): Uint8Array {
  return proto.ModelProto.encode({
    irVersion: 8,
    producerName: 'sluice',
    producerVersion: '1',
    opsetImport: opsets,
    graph,
  }).finish();
}

/** Row-major flatten of a [rows][cols] matrix. */
export const flat = (m: number[][]) => m.flatMap((r) => r);

export interface LinearModel {
  /** One weight per (z-scored) feature. */
  weights: number[];
  bias: number;
}

/** float_input [N, F] → Gemm → variable [N, 1]. */
export function exportLinearRegression(model: LinearModel): Uint8Array {
  const f = model.weights.length;
  return encodeModel({
    name: 'linear_regression',
    input: [tensorValue('float_input', DataType.FLOAT, ['N', f])],
    output: [tensorValue('variable', DataType.FLOAT, ['N', 1])],
    initializer: [floatTensor('coef', [1, f], model.weights), floatTensor('intercept', [1], [model.bias])],
    node: [node('Gemm', ['float_input', 'coef', 'intercept'], ['variable'], [attr.int('transB', 1)])],
  });
}

export interface SoftmaxModel {
  /** [classes][features] */
  weights: number[][];
  bias: number[];
}

/** float_input [N, F] → Gemm → Softmax → probabilities [N, C]; class names travel in the signature. */
export function exportSoftmaxRegression(model: SoftmaxModel): Uint8Array {
  const c = model.weights.length;
  const f = model.weights[0].length;
  return encodeModel({
    name: 'softmax_regression',
    input: [tensorValue('float_input', DataType.FLOAT, ['N', f])],
    output: [tensorValue('probabilities', DataType.FLOAT, ['N', c])],
    initializer: [floatTensor('coef', [c, f], flat(model.weights)), floatTensor('intercept', [c], model.bias)],
    node: [
      node('Gemm', ['float_input', 'coef', 'intercept'], ['logits'], [attr.int('transB', 1)]),
      node('Softmax', ['logits'], ['probabilities'], [attr.int('axis', -1)]),
    ],
  });
}
