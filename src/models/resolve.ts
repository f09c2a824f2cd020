import type pg from 'pg';
import { findModelVersion } from '../db/findModelVersion.js';
import { HttpError } from '../errors.js';
import { splitOf, type AliasSplit } from './canary.js';
import type { ModelIO } from './types.js';
import type { Signature } from './signature.js';

export interface ResolvedVersion {
  id: number;
  modelName: string;
  version: number;
  signature: Signature;
  io: ModelIO;
  /**
   * Only for an alias split between versions by weight (a canary): every version it routes to.
   * The fields above are then the heaviest version's (ties: the higher version), which is what the
   * alias means to whatever does not pick (a bulk job by default, a release before splits).
   * Single predictions pick with pickVersion, bulk jobs with pinForJob (src/models/canary.ts).
   */
  split?: AliasSplit;
}

const REF = /^([A-Za-z0-9][\w.-]{0,127})(?::(\d{1,9})|@([A-Za-z][\w.-]{0,63}))?$/;

export function parseModelRef(ref: string): { name: string; version?: number; alias?: string } {
  const m = REF.exec(ref.trim());
  if (!m) throw new HttpError('validation_failed', `"${ref}" is not a model reference: use "name" (latest version), "name:3" or "name@production".`);
  return { name: m[1], version: m[2] ? Number(m[2]) : undefined, alias: m[3] };
}

/**
 * Resolves name, name:N or name@alias to one version, for the caller's tenant only. A job pins the
 * result, so switching an alias later never moves a running job (blue-green). This is the uncached
 * read; the api's routes go through `deps.lookups.resolveModel` (src/http/lookups.ts), which caches
 * it per process and drops a tenant's entries when Postgres notifies a change.
 */
export async function resolveModel(db: pg.Pool | pg.ClientBase, tenantId: string, ref: string): Promise<ResolvedVersion> {
  const { name, version, alias } = parseModelRef(ref);
  const rows = await findModelVersion(db, tenantId, { name, version, alias });
  if (!rows.length) {
    const what = alias ? `alias "${alias}" of model "${name}"` : version !== undefined ? `version ${version} of model "${name}"` : `model "${name}"`;
    throw new HttpError('model_not_found', `There is no ${what}. GET /v1/models lists your models.`);
  }
  const versions = rows.map((r) => ({
    version: { id: Number(r.id), modelName: name, version: r.version, signature: r.signature as Signature, io: r.io as ModelIO } satisfies ResolvedVersion,
    weight: r.weight ?? 1,
  }));
  if (!alias || versions.length < 2) return versions[0].version;
  const split = splitOf(alias, versions);
  return { ...split.versions[0].version, split };
}
