import { describe, expect, it } from 'vitest';
import { HttpError } from '../../src/errors.js';
import { canonicalTarget, pickVersion, pinForJob, routingPoint, sameTarget, splitOf, versionsGainingShare } from '../../src/models/canary.js';
import type { ResolvedVersion } from '../../src/models/resolve.js';

// Choosing a version from an alias split between versions (src/models/canary.ts): the weighted
// draw for single predictions, the deterministic one per routing key, and the pin of bulk jobs.

const v = (version: number): ResolvedVersion => ({ id: 100 + version, modelName: 'iris', version, signature: { columns: ['f1'] } as never, io: {} as never });
/** The alias "prod" of model "iris" split as given (version → weight), as resolve.ts builds it. */
function split(weights: Record<number, number>): ResolvedVersion {
  const s = splitOf('prod', Object.entries(weights).map(([n, weight]) => ({ version: v(Number(n)), weight })));
  return { ...s.versions[0].version, split: s };
}

describe('splitOf', () => {
  it('orders heaviest first, ties to the higher version; the reference itself stands for the heaviest', () => {
    const r = split({ 1: 90, 2: 10 });
    expect(r.version).toBe(1);
    expect(r.split!.weights).toEqual([{ version: 1, weight: 90 }, { version: 2, weight: 10 }]);
    expect(r.split!.total).toBe(100);
    expect(split({ 1: 50, 3: 50, 2: 50 }).split!.weights.map((w) => w.version)).toEqual([3, 2, 1]);
  });
});

describe('pickVersion', () => {
  it('a reference that is not a split alias is scored by its own version, with no routing', () => {
    const plain = v(4);
    expect(pickVersion(plain)).toEqual({ version: plain, routing: null });
    expect(pickVersion(plain, 'user-1')).toEqual({ version: plain, routing: null });
  });

  it('draws by weight: 10/90 over 200 000 draws gives the light version 10 % ± 0.5 % (over 5 standard deviations)', () => {
    const r = split({ 2: 10, 1: 90 });
    const counts = new Map<number, number>();
    for (let i = 0; i < 200_000; i++) {
      const { version, routing } = pickVersion(r);
      counts.set(version.version, (counts.get(version.version) ?? 0) + 1);
      if (i === 0) expect(routing).toEqual({ alias: 'prod', versions: [{ version: 1, weight: 90 }, { version: 2, weight: 10 }], chose: 'weighted' });
    }
    expect([...counts.keys()].sort()).toEqual([1, 2]);
    expect(Math.abs(counts.get(2)! / 200_000 - 0.1)).toBeLessThan(0.005);
  });

  it('three versions get their shares too', () => {
    const r = split({ 1: 1, 2: 2, 3: 7 });
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 100_000; i++) counts[pickVersion(r).version.version]++;
    // Each share within 1 % of its weight's (over 5 standard deviations at 100 000 draws).
    counts.slice(1).forEach((c, i) => expect(Math.abs(c / 100_000 - [0.1, 0.2, 0.7][i])).toBeLessThan(0.01));
  });

  it('a routing key always lands on the same version, and keys spread by weight', () => {
    const r = split({ 2: 10, 1: 90 });
    let onTwo = 0;
    for (let k = 0; k < 20_000; k++) {
      const first = pickVersion(r, `user-${k}`);
      expect(first.routing!.chose).toBe('routing_key');
      for (let i = 0; i < 3; i++) expect(pickVersion(r, `user-${k}`).version).toBe(first.version);
      if (first.version.version === 2) onTwo++;
    }
    expect(Math.abs(onTwo / 20_000 - 0.1)).toBeLessThan(0.012);
  });

  it('the same key lands on the same version in another process or release: the hash is fixed', () => {
    // sha1("iris\nprod\nuser-42") read as a 48-bit fraction; changing it would move every key.
    const r = split({ 2: 10, 1: 90 });
    expect(routingPoint(r.split!, 'iris', 'user-42')).toBe(routingPoint(split({ 1: 90, 2: 10 }).split!, 'iris', 'user-42'));
    // Pinned numbers, not recomputed here: a change of the hash fails this test.
    expect([0, 1, 2].map((i) => routingPoint(split({ 1: 5000, 2: 5000 }).split!, 'iris', `user-${i}`))).toEqual([801, 7558, 4293]);
    // With 1..5000 on version 1 and 5000..10000 on version 2 (ascending versions), so:
    expect([0, 1, 2].map((i) => pickVersion(split({ 1: 5000, 2: 5000 }), `user-${i}`).version.version)).toEqual([1, 2, 1]);
  });

  it('ramping the newer version up only moves keys onto it', () => {
    const at10 = split({ 1: 90, 2: 10 });
    const at30 = split({ 1: 70, 2: 30 });
    let moved = 0;
    for (let k = 0; k < 5000; k++) {
      const before = pickVersion(at10, `k${k}`).version.version;
      const after = pickVersion(at30, `k${k}`).version.version;
      if (before === 2) expect(after).toBe(2);
      if (before !== after) moved++;
    }
    expect(moved / 5000).toBeGreaterThan(0.15); // about 20 % of the keys moved onto version 2
    expect(moved / 5000).toBeLessThan(0.25);
  });
});

describe('pinForJob', () => {
  it('pins the heaviest, or with canary the lightest other version (ties: the higher), and says so', () => {
    const r = split({ 1: 80, 2: 10, 3: 10 });
    expect(pinForJob(r, 'heaviest')).toMatchObject({ version: { version: 1, id: 101 }, routing: { alias: 'prod', chose: 'heaviest' } });
    expect(pinForJob(r, 'canary')).toMatchObject({ version: { version: 3, id: 103 }, routing: { chose: 'canary', versions: [{ version: 1, weight: 80 }, { version: 3, weight: 10 }, { version: 2, weight: 10 }] } });
    expect(pinForJob(split({ 1: 10, 2: 90 }), 'canary').version.version).toBe(1);
    expect(pinForJob(split({ 1: 70, 2: 20, 3: 10 }), 'canary').version.version).toBe(3);
    // The chosen version is a plain one: nothing downstream picks again.
    expect(pinForJob(r, 'heaviest').version.split).toBeUndefined();
  });

  it('a reference that is not a split alias pins itself; a canary of it is a 400 saying why', () => {
    const plain = v(2);
    expect(pinForJob(plain, 'heaviest')).toEqual({ version: plain, routing: null });
    let err: unknown;
    try {
      pinForJob(plain, 'canary');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(HttpError);
    expect(err).toMatchObject({ status: 400, code: 'validation_failed' });
    expect((err as Error).message).toMatch(/version 2 of model "iris" alone/);
  });
});

describe('targets', () => {
  it('one written form: heaviest first; a version alone weighs 1; compared by version and weight', () => {
    expect(canonicalTarget([{ version: 1, weight: 10 }, { version: 2, weight: 90 }])).toEqual([{ version: 2, weight: 90 }, { version: 1, weight: 10 }]);
    expect(canonicalTarget([{ version: 3, weight: 40 }])).toEqual([{ version: 3, weight: 1 }]);
    expect(sameTarget([{ version: 1, weight: 10 }, { version: 2, weight: 90 }], [{ version: 2, weight: 90 }, { version: 1, weight: 10 }])).toBe(true);
    expect(sameTarget([{ version: 1, weight: 1 }, { version: 2, weight: 9 }], [{ version: 1, weight: 10 }, { version: 2, weight: 90 }])).toBe(false);
    expect(sameTarget(null, [{ version: 1, weight: 1 }])).toBe(false);
  });

  it('the versions a change promotes: new ones and those whose share grows', () => {
    expect(versionsGainingShare(null, [{ version: 2, weight: 1 }])).toEqual([2]);
    expect(versionsGainingShare([{ version: 1, weight: 1 }], [{ version: 1, weight: 90 }, { version: 2, weight: 10 }])).toEqual([2]);
    expect(versionsGainingShare([{ version: 1, weight: 90 }, { version: 2, weight: 10 }], [{ version: 2, weight: 1 }])).toEqual([2]);
    expect(versionsGainingShare([{ version: 1, weight: 90 }, { version: 2, weight: 10 }], [{ version: 1, weight: 9 }, { version: 2, weight: 1 }])).toEqual([]);
    expect(versionsGainingShare([{ version: 1, weight: 90 }, { version: 2, weight: 10 }], [{ version: 1, weight: 1 }])).toEqual([1]);
  });
});
