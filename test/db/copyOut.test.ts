import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyOutRows, parseCopyRows } from '../../src/db/copyOut.js';
import { loadChunks } from '../../src/db/loadChunk.js';
import { createTestEnv, type TestEnv } from '../helpers/env.js';

let env: TestEnv;
beforeAll(async () => {
  env = await createTestEnv();
});
afterAll(async () => {
  await env?.close();
});

describe('binary COPY out', () => {
  it('hands bytea over byte for byte (every byte value, several MB, NULL) and text as UTF-8', async () => {
    const big = randomBytes(5_000_000);
    const every = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const client = await env.pool.connect();
    try {
      await client.query('CREATE TEMP TABLE t (n int, b bytea, s text)');
      await client.query('INSERT INTO t VALUES (1, $1, $2), (2, $3, NULL), (3, NULL, $4)', [every, 'ünïcödé ✓ 🎉', big, '']);
      const rows = await copyOutRows(client, 'SELECT n::text, b, s FROM t ORDER BY n');
      expect(rows.map((r) => r.map((f) => f && f.length))).toEqual([[1, 256, Buffer.byteLength('ünïcödé ✓ 🎉')], [1, big.length, null], [1, null, 0]]);
      expect(rows[0][1]!.equals(every)).toBe(true);
      expect(rows[1][1]!.equals(big)).toBe(true);
      expect(rows[0][2]!.toString('utf8')).toBe('ünïcödé ✓ 🎉');
      expect(await copyOutRows(client, 'SELECT 1 WHERE false')).toEqual([]);
    } finally {
      client.release();
    }
  });

  it('refuses bytes that are not a binary COPY stream, or one cut short', () => {
    expect(() => parseCopyRows(Buffer.from('1\tx\n'))).toThrow(/not a binary COPY stream/);
    const header = Buffer.concat([Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), Buffer.alloc(8)]);
    const cut = Buffer.concat([header, Buffer.from([0, 1, 0, 0, 0, 10, 1, 2])]);
    expect(() => parseCopyRows(cut)).toThrow(/cut short/);
  });

  it('loadChunks refuses a reference that is not exactly a UUID and an int4, before any SQL', async () => {
    await expect(loadChunks(env.pool, [{ jobId: "x'); DROP TABLE jobs; --", seq: 0 }])).rejects.toThrow(/malformed chunk reference/);
    await expect(loadChunks(env.pool, [{ jobId: randomUUID(), seq: 2 ** 31 }])).rejects.toThrow(/malformed chunk reference/);
    expect((await loadChunks(env.pool, [{ jobId: randomUUID(), seq: 0 }])).size).toBe(0);
  });
});
