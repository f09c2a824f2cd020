import { z } from 'zod';

// The signature says how CSV columns become the input tensor and how the outputs read.
// These field names are the public contract.
export const MissingPolicy = z.union([
  z.literal('error'),
  z.literal('mean'),
  z.object({ fill: z.number() }).strict(),
]);

export const SignatureSchema = z
  .object({
    columns: z.array(z.string().trim().min(1)).min(1).max(100_000),
    input: z.string().min(1).optional(),
    shape: z.array(z.number().int().positive()).min(1).max(8).optional(),
    dtype: z.enum(['float32', 'float64', 'int64', 'int32']).optional(),
    scale: z.number().finite().optional(),
    mean: z.array(z.number().finite()).optional(),
    std: z.array(z.number().finite().refine((v) => v !== 0, 'std must not be 0')).optional(),
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
    const n = s.columns.length;
    if (new Set(s.columns).size !== n) ctx.addIssue({ code: 'custom', path: ['columns'], message: 'columns must be unique' });
    for (const k of ['mean', 'std'] as const) {
      const v = s[k];
      if (v && v.length !== n) ctx.addIssue({ code: 'custom', path: [k], message: `${k} needs one value per column (${n}), got ${v.length}` });
    }
    if (s.shape && s.shape.reduce((a, b) => a * b, 1) !== n) {
      ctx.addIssue({ code: 'custom', path: ['shape'], message: `shape ${JSON.stringify(s.shape)} holds ${s.shape.reduce((a, b) => a * b, 1)} values but there are ${n} columns` });
    }
    if (s.missing === 'mean' && !s.mean) ctx.addIssue({ code: 'custom', path: ['missing'], message: '"missing": "mean" needs "mean"' });
  });

export type Signature = z.output<typeof SignatureSchema>;

/**
 * The columns an upload for this signature must carry (its columns and passthrough, each once).
 * More than MAX_COLUMNS could never be uploaded (intake refuses wider headers), so registration
 * refuses such a signature rather than accept a model no job can use.
 */
export function headerColumns(s: Pick<Signature, 'columns' | 'passthrough'>): number {
  return new Set([...s.columns, ...s.passthrough]).size;
}
