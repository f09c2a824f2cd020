import { closeSync, openSync, readSync } from 'node:fs';

/**
 * The process's resident set size in bytes, read the cheap way: one pread of /proc/self/statm on a
 * descriptor kept open, against process.memoryUsage.rss()'s open, read and close of /proc/self/stat
 * at every call. The memory guard (pool.ts) reads it twice for every inference task; on a virtual
 * machine where each system call traps to the hypervisor, the three calls cost about 0.12 ms each
 * time a single prediction woke the worker (CPU profile of lone predictions, docs/benchmarks.md).
 * Where statm cannot be read (not Linux), process.memoryUsage.rss().
 */
export class ResidentMemory {
  private fd: number | undefined;
  private readonly buf = Buffer.alloc(128);
  /** statm counts pages: bytes per page, found once against process.memoryUsage.rss(). */
  private pageBytes = 0;

  constructor() {
    try {
      this.fd = openSync('/proc/self/statm', 'r');
      const pages = this.pages();
      // The two readings are a few µs apart: their ratio is the page size, a power of two.
      this.pageBytes = pages > 0 ? 2 ** Math.round(Math.log2(process.memoryUsage.rss() / pages)) : 0;
      if (!(this.pageBytes >= 1024)) this.close();
    } catch {
      this.close();
    }
  }

  bytes(): number {
    if (this.fd === undefined) return process.memoryUsage.rss();
    try {
      return this.pages() * this.pageBytes;
    } catch {
      this.close();
      return process.memoryUsage.rss();
    }
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  /** statm: "size resident shared text lib data dt", in pages; the second field. */
  private pages(): number {
    const n = readSync(this.fd!, this.buf, 0, this.buf.length, 0);
    const text = this.buf.toString('latin1', 0, n);
    return Number.parseInt(text.slice(text.indexOf(' ') + 1), 10);
  }
}
