import { z } from 'zod';

// The signature says how CSV columns become the model's input tensors and how the outputs read.
// These field names are the public contract. Two forms (docs/signatures.md):
// - `columns` (+ `input`, `shape`, `dtype`, `scale`, `mean`, `std`): one numeric input fed from
//   the columns in tensor order, as before issue 13;
// - no `columns`: every graph input is fed, each from the column of its own name when it takes one
//   value per row (skl2onnx's per-column pipelines), or as its entry in `inputs` says.
export const MissingPolicy = z.union([
  z.literal('error'),
  z.literal('mean'),
  /** float inputs: NaN reaches the model, for graphs that impute themselves (skl2onnx Imputer). */
  z.literal('nan'),
  /** A number for numeric and bool inputs, a text for string inputs. */
  z.object({ fill: z.union([z.number(), z.string().max(1000)]) }).strict(),
]);
export type MissingPolicy = z.output<typeof MissingPolicy>;

export const INPUT_DTYPES = ['float32', 'float64', 'int64', 'int32', 'string', 'bool'] as const;
export type InputDtype = (typeof INPUT_DTYPES)[number];
export const NUMERIC_DTYPES = ['float32', 'float64', 'int64', 'int32'] as const;
export type NumericDtype = (typeof NUMERIC_DTYPES)[number];

const Columns = z.array(z.string().trim().min(1)).min(1).max(100_000);
const Shape = z.array(z.number().int().positive()).min(1).max(8);
const Mean = z.array(z.number().finite());
const Std = z.array(z.number().finite().refine((v) => v !== 0, 'std must not be 0'));

/** How one graph input is fed (the `inputs` form); every field may be left to the graph. */
export const InputSpecSchema = z
  .object({
    /** Default: the column named like the input, when the input takes one value per row. */
    columns: Columns.optional(),
    dtype: z.enum(INPUT_DTYPES).optional(),
    shape: Shape.optional(),
    scale: z.number().finite().optional(),
    mean: Mean.optional(),
    std: Std.optional(),
    /** Default: the signature's `missing`, where it fits the input's type. */
    missing: MissingPolicy.optional(),
  })
  .strict();
export type InputSpec = z.output<typeof InputSpecSchema>;

export const SignatureSchema = z
  .object({
    columns: Columns.optional(),
    input: z.string().min(1).optional(),
    shape: Shape.optional(),
    dtype: z.enum(NUMERIC_DTYPES).optional(),
    scale: z.number().finite().optional(),
    mean: Mean.optional(),
    std: Std.optional(),
    inputs: z.record(z.string().min(1), InputSpecSchema).optional(),
    missing: MissingPolicy.default('error'),
    /** Cell texts read as "no value" (any case), instead of the default list (preprocess.ts). */
    missing_values: z.array(z.string().max(32)).max(64).optional(),
    task: z.enum(['classification', 'regression', 'raw']),
    output: z.string().min(1).optional(),
    labels: z.array(z.string()).min(1).optional(),
    passthrough: z.array(z.string().trim().min(1)).max(64).default([]),
  })
  .strict()
  .superRefine((s, ctx) => {
    if (s.columns) {
      const n = s.columns.length;
      if (s.inputs) ctx.addIssue({ code: 'custom', path: ['inputs'], message: 'give either "columns" (one input fed from them) or "inputs" (per graph input), not both' });
      if (new Set(s.columns).size !== n) ctx.addIssue({ code: 'custom', path: ['columns'], message: 'columns must be unique' });
      checkBlock(s, n, [], ctx);
      if (typeof s.missing === 'object' && typeof s.missing.fill === 'string') ctx.addIssue({ code: 'custom', path: ['missing'], message: 'a text fill is for string inputs; "columns" feeds a numeric input' });
    } else {
      for (const k of ['input', 'shape', 'dtype', 'scale', 'mean', 'std'] as const) {
        if (s[k] !== undefined) ctx.addIssue({ code: 'custom', path: [k], message: `"${k}" goes with "columns"; without them, say it per input under "inputs"` });
      }
      for (const [name, spec] of Object.entries(s.inputs ?? {})) {
        const path = ['inputs', name];
        if (spec.columns && new Set(spec.columns).size !== spec.columns.length) ctx.addIssue({ code: 'custom', path: [...path, 'columns'], message: 'columns must be unique' });
        checkBlock(spec, spec.columns?.length ?? 1, path, ctx);
        if (spec.missing === 'mean' && !spec.mean) ctx.addIssue({ code: 'custom', path: [...path, 'missing'], message: '"missing": "mean" needs "mean"' });
      }
    }
  });

/** mean/std one per column, a shape that holds the columns, "mean" imputation with a mean. */
function checkBlock(s: Pick<InputSpec, 'mean' | 'std' | 'shape' | 'missing'>, n: number, path: string[], ctx: z.RefinementCtx) {
  for (const k of ['mean', 'std'] as const) {
    const v = s[k];
    if (v && v.length !== n) ctx.addIssue({ code: 'custom', path: [...path, k], message: `${k} needs one value per column (${n}), got ${v.length}` });
  }
  if (s.shape && s.shape.reduce((a, b) => a * b, 1) !== n) {
    ctx.addIssue({ code: 'custom', path: [...path, 'shape'], message: `shape ${JSON.stringify(s.shape)} holds ${s.shape.reduce((a, b) => a * b, 1)} values but there are ${n} columns` });
  }
  if (path.length === 0 && s.missing === 'mean' && !s.mean) ctx.addIssue({ code: 'custom', path: ['missing'], message: '"missing": "mean" needs "mean"' });
}

export type Signature = z.output<typeof SignatureSchema>;

/**
 * The columns an upload for this signature must carry, at most (its columns, the columns named in
 * `inputs`, the inputs fed by name, and passthrough, each once; the graph's own input names are
 * only known once it is read, so they are counted by `inputs` entries). More than MAX_COLUMNS
 * could never be uploaded (intake refuses wider headers), so registration refuses such a
 * signature rather than accept a model no job can use.
 */
export function headerColumns(s: Pick<Signature, 'columns' | 'inputs' | 'passthrough'>, features?: readonly string[]): number {
  const fed = features ?? s.columns ?? Object.entries(s.inputs ?? {}).flatMap(([name, spec]) => spec.columns ?? [name]);
  return new Set([...fed, ...s.passthrough]).size;
}
