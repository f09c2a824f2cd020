import { mkdir, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type pg from 'pg';
import { getModelOnnx } from '../db/getModelOnnx.js';
import { getModelVersionPlan } from '../db/getModelVersionPlan.js';
import type { Signature } from '../models/signature.js';
import type { RunPlan } from '../models/types.js';
import { series } from '../metrics/series.js';

export interface WorkerModel {
  versionId: number;
  /** Session cache key in the inference threads. */
  modelKey: string;
  modelPath: string;
  signature: Signature;
  plan: RunPlan;
}

/**
 * Model versions are immutable, so a worker fetches a version's bytes from Postgres once and
 * keeps them as a file the inference threads load from (each thread caches its session).
 */
export class ModelCache {
  private cache = new Map<number, Promise<WorkerModel>>();

  constructor(private readonly pool: pg.Pool, private readonly dir: string) {}

  get(versionId: number): Promise<WorkerModel> {
    let p = this.cache.get(versionId);
    series.modelCacheLookups.inc({ result: p ? 'hit' : 'miss' });
    if (!p) {
      const end = series.modelLoad.startTimer();
      p = this.load(versionId);
      p.then(() => end(), () => {});
      this.cache.set(versionId, p);
      p.catch(() => this.cache.delete(versionId));
    }
    return p;
  }

  private async load(versionId: number): Promise<WorkerModel> {
    const row = await getModelVersionPlan(this.pool, versionId);
    if (!row) throw new Error(`model version ${versionId} does not exist`);
    const { sha256 } = row;
    const signature = row.signature as Signature;
    const io = row.io as { plan: RunPlan };
    const modelKey = `${versionId}-${sha256.slice(0, 16)}`;
    const modelPath = path.resolve(this.dir, `${modelKey}.onnx`);
    if (!(await exists(modelPath))) {
      const onnx = await getModelOnnx(this.pool, versionId);
      await mkdir(this.dir, { recursive: true });
      // Written aside then renamed: a thread never loads a half-written file, even with several workers on one disk.
      const tmp = `${modelPath}.${process.pid}.${Date.now()}.tmp`;
      await writeFile(tmp, onnx);
      await rename(tmp, modelPath);
    }
    return { versionId, modelKey, modelPath, signature, plan: io.plan };
  }
}

async function exists(p: string) {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}
