import { createHash } from 'node:crypto';
import { HttpError } from '../errors.js';
import type { ResolvedVersion } from './resolve.js';

// An alias split between versions by weight (a canary: {"versions": [{"version": 2, "weight": 10},
// {"version": 1, "weight": 90}]}). Resolution (resolve.ts) builds the split once and the lookup
// cache shares it, so choosing a version per prediction is arithmetic on what is already in memory.

/** A version and its weight, as targets are stored, shown and compared. */
export interface WeightedVersion {
  version: number;
  weight: number;
}

export interface AliasSplit {
  alias: string;
  /** Heaviest first (ties: the higher version); [0] is the version the alias stands for alone. */
  versions: readonly { version: ResolvedVersion; weight: number }[];
  /** The same as numbers, in the same order: what a routing object shows (shared, frozen). */
  weights: readonly WeightedVersion[];
  total: number;
  /**
   * The cumulative weights in ascending version order: a point in [0, total) belongs to the first
   * rung whose `upTo` exceeds it. Ascending version order keeps routing keys sticky while a newer
   * version is ramped up: its range grows downwards, so keys only ever move onto it.
   */
  ladder: readonly { upTo: number; version: ResolvedVersion }[];
}

/** How a job's version was chosen from a split alias: stored on the job (jobs.routing) and shown with it. */
export interface Routing {
  alias: string;
  versions: readonly WeightedVersion[];
  chose: 'weighted' | 'routing_key' | 'heaviest' | 'canary';
}

export interface Choice {
  version: ResolvedVersion;
  /** Null when the reference was not a split alias (a version, the latest, a one-version alias). */
  routing: Routing | null;
}

/** Heaviest first, ties to the higher version: the order targets are shown in, and [0] is the alias's version_id. */
export function byWeight(a: { weight: number; version: number }, b: { weight: number; version: number }): number {
  return b.weight - a.weight || b.version - a.version;
}

/** The split of `alias` over these versions (each a plain ResolvedVersion, without a split). */
export function splitOf(alias: string, entries: readonly { version: ResolvedVersion; weight: number }[]): AliasSplit {
  const versions = [...entries].sort((a, b) => byWeight({ weight: a.weight, version: a.version.version }, { weight: b.weight, version: b.version.version }));
  let upTo = 0;
  const ladder = [...entries]
    .sort((a, b) => a.version.version - b.version.version)
    .map((e) => ({ upTo: (upTo += e.weight), version: e.version }));
  return Object.freeze({
    alias,
    versions: Object.freeze(versions),
    weights: Object.freeze(versions.map((e) => Object.freeze({ version: e.version.version, weight: e.weight }))),
    total: upTo,
    ladder: Object.freeze(ladder),
  });
}

function rungAt(split: AliasSplit, point: number): ResolvedVersion {
  for (const r of split.ladder) if (point < r.upTo) return r.version;
  return split.ladder[split.ladder.length - 1].version; // point < total always; a guard for float edges
}

/**
 * Where a routing key falls in [0, total): the first 48 bits of sha1(model, alias, key) as a
 * fraction of 2^48, scaled. Stable across processes and releases, so the same key lands on the
 * same version for as long as the weights stay.
 */
export function routingPoint(split: AliasSplit, modelName: string, routingKey: string): number {
  const h = createHash('sha1').update(`${modelName}\n${split.alias}\n${routingKey}`).digest();
  return Math.floor((h.readUIntBE(0, 6) / 2 ** 48) * split.total);
}

/**
 * The version that scores one prediction: by weight at random, or, with a routing key, the version
 * the key's hash falls on (deterministic). A reference that is not a split alias is its own version.
 */
export function pickVersion(resolved: ResolvedVersion, routingKey?: string): Choice {
  const split = resolved.split;
  if (!split) return { version: resolved, routing: null };
  if (routingKey !== undefined) {
    return { version: rungAt(split, routingPoint(split, resolved.modelName, routingKey)), routing: { alias: split.alias, versions: split.weights, chose: 'routing_key' } };
  }
  return { version: rungAt(split, Math.random() * split.total), routing: { alias: split.alias, versions: split.weights, chose: 'weighted' } };
}

/**
 * The version a bulk job pins: the heaviest of a split (ties: the higher version), or with
 * 'canary' the lightest of the others (ties: the higher version). A reference that is not a split
 * alias pins its own version, and cannot be asked for a canary (a 400 saying why).
 */
export function pinForJob(resolved: ResolvedVersion, choice: 'heaviest' | 'canary'): Choice {
  const split = resolved.split;
  if (!split) {
    if (choice === 'canary') {
      throw new HttpError(
        'validation_failed',
        `version_choice=canary pins the lighter version of an alias split between versions; this reference resolves to version ${resolved.version} of model "${resolved.modelName}" alone.`,
      );
    }
    return { version: resolved, routing: null };
  }
  let pick = split.versions[0];
  if (choice === 'canary') {
    pick = split.versions[1];
    for (const e of split.versions.slice(2)) if (e.weight < pick.weight || (e.weight === pick.weight && e.version.version > pick.version.version)) pick = e;
  }
  return { version: pick.version, routing: { alias: split.alias, versions: split.weights, chose: choice } };
}

/**
 * The versions a change from `from` to `to` gives a larger share of traffic than they have now (a
 * version new to the alias included): the ones a promotion guard checks. A version whose share
 * stays or shrinks is not being promoted.
 */
export function versionsGainingShare(from: readonly WeightedVersion[] | null, to: readonly WeightedVersion[]): number[] {
  const share = (t: readonly WeightedVersion[] | null, v: number) => {
    if (!t) return 0;
    const total = t.reduce((s, e) => s + e.weight, 0);
    return (t.find((e) => e.version === v)?.weight ?? 0) / total;
  };
  // Compared as fractions of integers: a cross-multiplication would be exact, but shares of weights
  // ≤ 10 000 over ≤ 10 versions differ by far more than a double's error when they differ at all.
  return to.filter((e) => share(to, e.version) > share(from, e.version) + 1e-12).map((e) => e.version);
}

/** A target in its one written form: heaviest first (ties: the higher version); one version alone weighs 1. */
export function canonicalTarget(versions: readonly WeightedVersion[]): WeightedVersion[] {
  if (versions.length === 1) return [{ version: versions[0].version, weight: 1 }];
  return versions.map((e) => ({ version: e.version, weight: e.weight })).sort(byWeight);
}

export function sameTarget(a: readonly WeightedVersion[] | null, b: readonly WeightedVersion[] | null): boolean {
  if (!a || !b) return a === b;
  const ca = canonicalTarget(a);
  const cb = canonicalTarget(b);
  return ca.length === cb.length && ca.every((e, i) => e.version === cb[i].version && e.weight === cb[i].weight);
}
