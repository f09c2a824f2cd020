import { createHash } from 'node:crypto';
import type pg from 'pg';
import { ensureModel } from '../db/ensureModel.js';
import { insertModelVersion } from '../db/insertModelVersion.js';
import { withTransaction } from '../db/pool.js';
import { HttpError } from '../errors.js';
import { loadCheck } from './loadCheck.js';
import { InvalidModelError, prepareGraph } from './onnx.js';
import { featureColumns } from './inputs.js';
import { planRun } from './plan.js';
import { headerColumns, type Signature } from './signature.js';
import type { ModelIO } from './types.js';

export interface NewVersion {
  tenantId: string;
  name: string;
  bytes: Buffer;
  signature: Signature;
  metrics: Record<string, unknown> | null;
  description: string | null;
  loadTimeoutMs: number;
  /** MAX_COLUMNS: the widest header an upload may have. */
  maxColumns: number;
}

/**
 * Validates at registration what workers will rely on: the bytes are ONNX, onnxruntime loads
 * them (in a thread with a deadline), the signature fits the input and the outputs can be read.
 * Workers then follow the stored plan without guessing.
 */
export async function registerVersion(pool: pg.Pool, v: NewVersion): Promise<{ version: number; io: ModelIO }> {
  const width = headerColumns(v.signature);
  if (width > v.maxColumns) {
    throw new HttpError(
      'invalid_signature',
      `The signature names ${width} columns (columns and passthrough); uploads may have at most ${v.maxColumns} (MAX_COLUMNS), so no job could use it.`,
      { errors: [{ path: 'columns', message: `at most ${v.maxColumns} columns (MAX_COLUMNS)` }], max_columns: v.maxColumns },
    );
  }
  let prepared;
  try {
    prepared = prepareGraph(v.bytes);
  } catch (err) {
    if (err instanceof InvalidModelError) throw new HttpError('invalid_model', `The file is not a usable ONNX model: ${err.message}`);
    throw err;
  }
  let ort;
  try {
    ort = await loadCheck(prepared.bytes, { timeoutMs: v.loadTimeoutMs });
  } catch (err) {
    if (err instanceof InvalidModelError) throw new HttpError('invalid_model', `onnxruntime cannot load the model: ${err.message}`);
    throw err;
  }
  const planned = planRun(v.signature, prepared, ort);
  if ('problems' in planned) {
    throw new HttpError('signature_mismatch', `The signature does not fit the model: ${planned.problems.join('; ')}.`, { problems: planned.problems });
  }
  // Per-column graphs name their columns only through the graph: counted again now they are known.
  const needed = headerColumns(v.signature, featureColumns(planned.plan, v.signature));
  if (needed > v.maxColumns) {
    throw new HttpError(
      'invalid_signature',
      `The model reads ${needed} columns (its inputs' and passthrough); uploads may have at most ${v.maxColumns} (MAX_COLUMNS), so no job could use it.`,
      { errors: [{ path: 'inputs', message: `at most ${v.maxColumns} columns (MAX_COLUMNS)` }], max_columns: v.maxColumns },
    );
  }
  const io: ModelIO = { inputs: prepared.inputs, outputs: prepared.outputs, rewrites: prepared.rewrites, plan: planned.plan };
  const sha256 = createHash('sha256').update(v.bytes).digest('hex');
  const version = await withTransaction(pool, async (c) => {
    // ensureModel locks the model row until commit, so two concurrent registrations get versions N and N+1.
    const modelId = await ensureModel(c, v.tenantId, v.name);
    return insertModelVersion(c, {
      modelId, onnx: Buffer.from(prepared.bytes), sha256, sizeBytes: v.bytes.length,
      signature: v.signature, io, metrics: v.metrics, description: v.description,
    });
  });
  return { version, io };
}
