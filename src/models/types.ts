import type { InputDtype, MissingPolicy, NumericDtype } from './signature.js';

/** A graph input or output as declared in the ONNX file. Dims are numbers, or a name/null for dynamic ones. */
export interface TensorInfo {
  name: string;
  /** Element type as onnxruntime names it: 'float32', 'float64', 'int64', 'int32', 'string', 'bool', … or 'seq(map)' etc. for non-tensors. */
  type: string;
  dims: (number | string | null)[];
}

/** One graph input and how it is fed: which columns, read how, filled how when a value is missing. */
export interface PlanInput {
  /** The graph input's name. */
  name: string;
  type: InputDtype;
  /** Values per row as the tensor holds them, without the batch dim: [1] for skl2onnx's [N, 1], [] for [N]. */
  shape: number[];
  /** The columns (or JSON fields) feeding it, in tensor order; shape holds exactly their count. */
  columns: string[];
  scale?: number;
  mean?: number[];
  std?: number[];
  missing: MissingPolicy;
}

/**
 * How a worker runs a registered version: settled once at registration, stored in
 * model_versions.io, so workers do no guessing on the hot path.
 *
 * Two shapes, both read by workers (src/models/inputs.ts `planInputs`): a signature with
 * `columns` feeding one numeric input gives `input`/`inputType`/`inputShape` (every plan stored
 * before issue 13 is of this kind, its policies in the signature); any other gives `inputs`.
 */
export interface RunPlan {
  /** Input name fed with the preprocessed tensor (the `columns` form). */
  input?: string;
  /** Element type of that input. */
  inputType?: NumericDtype;
  /** Full tensor shape per batch with the batch dim as -1, e.g. [-1, 28, 28, 1]. */
  inputShape?: number[];
  /** Every graph input and how it is fed (the per-column and `inputs` forms). */
  inputs?: PlanInput[];
  /** Largest batch the graph accepts (1 when its batch dim is fixed at 1; null when dynamic). */
  maxBatch: number | null;
  /** classification: the tensor with one probability (or score) per class, shape [N, C]. */
  probabilities?: string;
  /** classification: the predicted label tensor, [N] (int64 or string), when the graph has one. */
  label?: string;
  /** regression: the value tensor, [N] or [N, 1]. raw: the tensor returned as is. */
  value?: string;
  /** Class names in probability-column order (signature labels, else the graph's own class labels). */
  labels?: string[];
  /** Whether the probabilities still need a softmax (graph outputs logits). Decided at registration. */
  softmax?: boolean;
}

export interface ModelIO {
  inputs: TensorInfo[];
  outputs: TensorInfo[];
  /** Human-readable notes on what registration changed in the graph (e.g. ZipMap removed). */
  rewrites: string[];
  plan: RunPlan;
}
