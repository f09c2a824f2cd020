// The request budget counted in real Redis: most requests go on without waiting for the count,
// the count is still exact in Redis, and the edge of the budget is Redis's verdict.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { afterAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { OptimisticLimiter } from '../../src/http/optimisticLimiter.js';

const redis = new Redis(inject('testRun').redisUrl);
const prefix = `sluice-t-optimistic-${randomBytes(3).toString('hex')}`;
afterAll(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

// A long window, so a test never straddles two of them.
const redisLimiter = (points: number) => new RateLimiterRedis({ storeClient: redis, keyPrefix: `${prefix}:${randomBytes(3).toString('hex')}`, points, duration: 60 });
const counted = async (l: RateLimiterRedis, id: string) => (await l.get(id))?.consumedPoints ?? 0;
// Replies come in order on the shared connection, and a turn of the event loop lets the promise
// jobs behind a reply run: after this, every count sent before it has come back and been read.
const countBack = async () => {
  await redis.ping();
  await new Promise((resolve) => setImmediate(resolve));
};
const settle = async (x: number | Promise<number>) => {
  try {
    await x;
    return 'ok';
  } catch (err) {
    if (err instanceof RateLimiterRes) return 'limited';
    throw err;
  }
};

describe('optimistic request budget', () => {
  it('a key seen in this window with room left goes on at once; every request is still counted in Redis', async () => {
    const base = redisLimiter(100);
    const limiter = new OptimisticLimiter(base, 100, (err) => { throw err; });
    expect(await limiter.consume('k')).toBe(99); // first of the window: waits for Redis
    const quick: boolean[] = [];
    for (let i = 0; i < 20; i++) {
      const r = limiter.consume('k');
      quick.push(typeof r === 'number');
      await countBack(); // its count is back before the next request
    }
    expect(quick.every(Boolean)).toBe(true);
    expect(await counted(base, 'k')).toBe(21);
  });

  it('near and at the limit, Redis decides: one key sending one at a time gets exactly its budget', async () => {
    const base = redisLimiter(20);
    const limiter = new OptimisticLimiter(base, 20, (err) => { throw err; });
    const outcomes: string[] = [];
    for (let i = 0; i < 30; i++) outcomes.push(await settle(limiter.consume('k')));
    expect(outcomes.filter((o) => o === 'ok').length).toBe(20);
    expect(outcomes.slice(20).every((o) => o === 'limited')).toBe(true);
  });

  it('a burst (requests before any count came back) waits for Redis, so it cannot pass the budget', async () => {
    const base = redisLimiter(10);
    const limiter = new OptimisticLimiter(base, 10, (err) => { throw err; });
    await limiter.consume('k');
    const outcomes = await Promise.all(Array.from({ length: 20 }, () => settle(limiter.consume('k'))));
    expect(outcomes.filter((o) => o === 'ok').length).toBe(9);
  });

  it('two api processes share one budget: what one admitted, the other learns from Redis', async () => {
    const base = redisLimiter(50);
    const [a, b] = [new OptimisticLimiter(base, 50, () => {}), new OptimisticLimiter(base, 50, () => {})];
    const outcomes: string[] = [];
    for (let i = 0; i < 80; i++) {
      outcomes.push(await settle((i % 2 ? a : b).consume('k')));
      await countBack(); // before the other process's next request
    }
    expect(await counted(base, 'k')).toBe(80);
    // Each one's view lags the other's last request at most: a tenth of the budget is the slack it keeps.
    const ok = outcomes.filter((o) => o === 'ok').length;
    expect(ok).toBeGreaterThanOrEqual(50);
    expect(ok).toBeLessThanOrEqual(52);
  });
});
