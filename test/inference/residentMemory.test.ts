import { describe, expect, it } from 'vitest';
import { ResidentMemory } from '../../src/inference/residentMemory.js';

describe('ResidentMemory', () => {
  it('reads what process.memoryUsage.rss() reads, and follows memory that becomes resident', () => {
    const rss = new ResidentMemory();
    try {
      const ours = rss.bytes();
      const node = process.memoryUsage.rss();
      expect(Math.abs(ours - node)).toBeLessThan(16 * 1024 * 1024);
      // 96 MB written page by page: resident now, and both readings see it.
      const block = Buffer.alloc(96 * 1024 * 1024, 1);
      const grown = rss.bytes() - ours;
      expect(grown).toBeGreaterThan(80 * 1024 * 1024);
      expect(block[block.length - 1]).toBe(1);
    } finally {
      rss.close();
    }
  });

  it('still answers once closed, from process.memoryUsage.rss()', () => {
    const rss = new ResidentMemory();
    rss.close();
    const after = rss.bytes();
    expect(Math.abs(after - process.memoryUsage.rss())).toBeLessThan(16 * 1024 * 1024);
  });
});
