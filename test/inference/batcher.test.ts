import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createBatcher } from '../../src/inference/batcher.js';

interface P {
  id: string;
  rowCount: number;
}

function setup(maxRows = 10, maxDelayMs = 5) {
  const calls: { key: string; ids: string[] }[] = [];
  const batcher = createBatcher<P, string>({
    maxRows,
    maxDelayMs,
    run: async (key, parts) => {
      calls.push({ key, ids: parts.map((p) => p.id) });
      return parts.map((p) => `${key}:${p.id}`);
    },
  });
  return { batcher, calls };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('batcher', () => {
  it('idle: submissions arriving together become one run on the next turn, without waiting for maxDelayMs', async () => {
    const { batcher, calls } = setup();
    const a = batcher.submit('m1', { id: 'a', rowCount: 1 });
    const b = batcher.submit('m1', { id: 'b', rowCount: 2 });
    expect(calls).toEqual([]);
    await vi.advanceTimersByTimeAsync(0);
    expect(await a).toBe('m1:a');
    expect(await b).toBe('m1:b');
    expect(calls).toEqual([{ key: 'm1', ids: ['a', 'b'] }]);
  });

  it('idle: parts that each reach it after awaits of their own in the same turn (a queue job\'s parts) share one run', async () => {
    const { batcher, calls } = setup();
    const submitted = ['a', 'b', 'c'].map(async (id, k) => {
      for (let i = 0; i <= k; i++) await Promise.resolve();
      return batcher.submit('m', { id, rowCount: 1 });
    });
    expect(await Promise.all(submitted)).toEqual(['m:a', 'm:b', 'm:c']);
    expect(calls).toEqual([{ key: 'm', ids: ['a', 'b', 'c'] }]);
  });

  it('busy: while a run is in flight, submissions gather until it finishes', async () => {
    const calls: string[][] = [];
    const releases: (() => void)[] = [];
    const batcher = createBatcher<P, string>({
      maxRows: 100,
      maxDelayMs: 1000,
      run: (_key, parts) => {
        calls.push(parts.map((p) => p.id));
        return new Promise((resolve) => releases.push(() => resolve(parts.map((p) => p.id))));
      },
    });
    const first = batcher.submit('m', { id: 'first', rowCount: 1 });
    await vi.advanceTimersByTimeAsync(0);
    expect(calls).toEqual([['first']]);
    const later = ['x', 'y', 'z'].map((id) => batcher.submit('m', { id, rowCount: 1 }));
    await vi.advanceTimersByTimeAsync(10);
    expect(calls).toHaveLength(1); // gathering behind the run in flight
    releases[0]();
    expect(await first).toBe('first');
    await vi.advanceTimersByTimeAsync(0);
    expect(calls).toEqual([['first'], ['x', 'y', 'z']]);
    releases[1]();
    expect(await Promise.all(later)).toEqual(['x', 'y', 'z']);
  });

  it('busy: maxDelayMs bounds the wait behind a slow run', async () => {
    const calls: string[][] = [];
    const batcher = createBatcher<P, string>({
      maxRows: 100,
      maxDelayMs: 5,
      run: (_key, parts) => {
        calls.push(parts.map((p) => p.id));
        return calls.length === 1 ? new Promise(() => {}) : Promise.resolve(parts.map((p) => p.id));
      },
    });
    void batcher.submit('m', { id: 'stuck', rowCount: 1 });
    await vi.advanceTimersByTimeAsync(0);
    const b = batcher.submit('m', { id: 'b', rowCount: 1 });
    await vi.advanceTimersByTimeAsync(4);
    expect(calls).toEqual([['stuck']]);
    await vi.advanceTimersByTimeAsync(1);
    expect(await b).toBe('b');
    expect(calls).toEqual([['stuck'], ['b']]);
  });

  it('keeps model versions apart', async () => {
    const { batcher, calls } = setup();
    const a = batcher.submit('m1', { id: 'a', rowCount: 1 });
    const b = batcher.submit('m2', { id: 'b', rowCount: 1 });
    await vi.advanceTimersByTimeAsync(5);
    expect(await Promise.all([a, b])).toEqual(['m1:a', 'm2:b']);
    expect(calls).toEqual([
      { key: 'm1', ids: ['a'] },
      { key: 'm2', ids: ['b'] },
    ]);
  });

  it('reaching maxRows runs at once, without waiting for the delay', async () => {
    const { batcher, calls } = setup(10, 60_000);
    const a = batcher.submit('m', { id: 'a', rowCount: 4 });
    const b = batcher.submit('m', { id: 'b', rowCount: 6 });
    expect(await Promise.all([a, b])).toEqual(['m:a', 'm:b']);
    expect(calls).toEqual([{ key: 'm', ids: ['a', 'b'] }]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a part that would overflow maxRows closes the open batch and starts the next', async () => {
    const { batcher, calls } = setup(10, 60_000);
    const a = batcher.submit('m', { id: 'a', rowCount: 7 });
    const b = batcher.submit('m', { id: 'b', rowCount: 7 });
    expect(await a).toBe('m:a');
    expect(calls).toEqual([{ key: 'm', ids: ['a'] }]);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(await b).toBe('m:b');
    expect(calls).toEqual([
      { key: 'm', ids: ['a'] },
      { key: 'm', ids: ['b'] },
    ]);
  });

  it('a big part runs alone and at once', async () => {
    const { batcher, calls } = setup(10, 60_000);
    expect(await batcher.submit('m', { id: 'big', rowCount: 50 })).toBe('m:big');
    expect(calls).toEqual([{ key: 'm', ids: ['big'] }]);
  });

  it('a failed run is retried part by part: the bad part fails alone, the others get their results', async () => {
    const calls: string[][] = [];
    const batcher = createBatcher<P, string>({
      maxRows: 10,
      maxDelayMs: 5,
      run: async (_key, parts) => {
        calls.push(parts.map((p) => p.id));
        if (parts.some((p) => p.id === 'bad')) throw new Error('inference failed');
        return parts.map((p) => p.id);
      },
    });
    const settled = Promise.allSettled(['a', 'bad', 'b'].map((id) => batcher.submit('m', { id, rowCount: 1 })));
    await vi.advanceTimersByTimeAsync(5);
    const out = await settled;
    expect(out.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(out.map((s) => (s.status === 'fulfilled' ? s.value : (s.reason as Error).message))).toEqual(['a', 'inference failed', 'b']);
    expect(calls).toEqual([['a', 'bad', 'b'], ['a'], ['bad'], ['b']]);
  });

  it('a run returning the wrong number of results rejects rather than misattributing them', async () => {
    const batcher = createBatcher<P, string>({ maxRows: 2, maxDelayMs: 5, run: async (_key, parts) => [...parts.map((p) => p.id), 'extra'] });
    const both = Promise.allSettled([batcher.submit('m', { id: 'a', rowCount: 1 }), batcher.submit('m', { id: 'b', rowCount: 1 })]);
    expect((await both).map((s) => s.status)).toEqual(['rejected', 'rejected']);
  });
});
