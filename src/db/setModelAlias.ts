import type pg from 'pg';
import type { AliasChangeRow, StoredTarget } from './aliasChangeRow.js';
import { insertAliasChange } from './insertAliasChange.js';
import { lockModelForAliasChange } from './lockModelForAliasChange.js';
import { withTransaction } from './pool.js';
import { selectAliasTarget } from './selectAliasTarget.js';
import { selectLatestAliasChange } from './selectLatestAliasChange.js';
import { writeModelAlias } from './writeModelAlias.js';

/** What an alias change sees before it decides, read under the model's lock. */
export interface AliasState {
  modelId: number;
  /** The alias's target now; null when the alias does not exist yet. */
  current: StoredTarget | null;
  /** Its latest recorded change; null when none was recorded. */
  latest: AliasChangeRow | null;
}

/** The change decided: the target (heaviest first) and the id of its heaviest version. */
export interface AliasDecision {
  action: AliasChangeRow['action'];
  to: StoredTarget;
  versionId: number;
  guard: Record<string, unknown> | null;
}

/**
 * Changes an alias of the tenant's model and records the change, in one transaction: the model row
 * is locked (lockModelForAliasChange), the current target and latest change read, `decide` (given
 * the same transaction's client, to read what it needs) returns the new target or throws to refuse
 * (nothing is written then) or null when the alias already has that target (nothing to change, nothing
 * recorded), the alias is written and the change recorded with who made it. The commit fires the
 * NOTIFY of migrations/0006, so cached references drop the alias everywhere.
 * Null when the tenant has no such model; else the target in force and the change (null if none).
 */
export async function setModelAlias(
  pool: pg.Pool,
  who: { tenantId: string; keyId: string | null },
  name: string,
  alias: string,
  decide: (c: pg.ClientBase, state: AliasState) => Promise<AliasDecision | null>,
): Promise<{ target: StoredTarget; updatedAt: Date; change: AliasChangeRow | null } | null> {
  return withTransaction(pool, async (c) => {
    const modelId = await lockModelForAliasChange(c, who.tenantId, name);
    if (modelId === null) return null;
    const now = await selectAliasTarget(c, modelId, alias);
    const current = now?.versions ?? null;
    const latest = await selectLatestAliasChange(c, modelId, alias);
    const d = await decide(c, { modelId, current, latest });
    if (!d) return { target: current!, updatedAt: now!.updated_at, change: null };
    const updatedAt = await writeModelAlias(c, modelId, alias, d.versionId, d.to.length > 1 ? d.to : null);
    const change = await insertAliasChange(c, { modelId, alias, action: d.action, from: current, to: d.to, guard: d.guard, keyId: who.keyId });
    return { target: d.to, updatedAt, change };
  });
}
