import { createHash } from 'node:crypto';
import type pg from 'pg';
import { withTransaction } from '../db/pool.js';
import { HttpError } from '../errors.js';
import { loadCheck } from './load-check.js';
import { InvalidModelError, prepareGraph } from './onnx.js';
import { planRun } from './plan.js';
import type { Signature } from './signature.js';
import type { ModelIO } from './types.js';

export interface NewVersion {
  tenantId: string;
  name: string;
  bytes: Buffer;
  signature: Signature;
  metrics: Record<string, unknown> | null;
  description: string | null;
  loadTimeoutMs: number;
}

/**
 * Validates at registration what workers will rely on: the bytes are ONNX, onnxruntime loads
 * them (in a thread with a deadline), the signature fits the input and the outputs can be read.
 * Workers then follow the stored plan without guessing.
 */
export async function registerVersion(pool: pg.Pool, v: NewVersion): Promise<{ version: number; io: ModelIO }> {
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
  const io: ModelIO = { inputs: prepared.inputs, outputs: prepared.outputs, rewrites: prepared.rewrites, plan: planned.plan };
  const sha256 = createHash('sha256').update(v.bytes).digest('hex');
  const version = await withTransaction(pool, async (c) => {
    // The upsert locks the model row until commit, so two concurrent registrations get versions N and N+1.
    const { rows } = await c.query<{ id: number }>(
      `INSERT INTO models (tenant_id, name) VALUES ($1, $2) ON CONFLICT (tenant_id, name) DO UPDATE SET name = EXCLUDED.name RETURNING id`,
      [v.tenantId, v.name],
    );
    const modelId = rows[0].id;
    const r = await c.query<{ version: number }>(
      `INSERT INTO model_versions (model_id, version, onnx, sha256, size_bytes, signature, io, metrics, description)
       SELECT $1, coalesce(max(version), 0) + 1, $2, $3, $4, $5, $6, $7, $8 FROM model_versions WHERE model_id = $1
       RETURNING version`,
      [modelId, Buffer.from(prepared.bytes), sha256, v.bytes.length, v.signature, io, v.metrics, v.description],
    );
    return r.rows[0].version;
  });
  return { version, io };
}
