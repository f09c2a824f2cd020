import { Buffer } from 'node:buffer';
import type { Chunk, ChunkLines } from './records.js';

/** How a chunk's records are framed in its payload: CSV joins them by "\n"; JSON Lines makes a JSON array. */
export interface ChunkFrame {
  open: Buffer;
  /** One byte between records. */
  separator: number;
  close: Buffer;
}

/**
 * Groups records into chunks of at most `chunkRows` and about `maxChunkBytes` (a single longer
 * record gets a chunk of its own), keeping where each chunk's records stand in the file. Records
 * are referenced until a chunk is cut, then copied into its payload once.
 */
export class ChunkCutter {
  private pending: Buffer[] = [];
  private pendingBytes: number;
  private pendingLines: ChunkLines = { first: 0, jumps: null };
  private pendingExtra = 0;
  private ready: Chunk[] = [];
  private seq = 0;
  private chunkedRows = 0;

  constructor(
    private readonly frame: ChunkFrame,
    private readonly chunkRows: number,
    private readonly maxChunkBytes: number,
  ) {
    if (!(chunkRows >= 1)) throw new RangeError('chunkRows must be at least 1');
    this.pendingBytes = this.framing();
  }

  /** Records seen so far (in drained, ready or pending chunks). */
  get rows(): number {
    return this.chunkedRows + this.pending.length;
  }

  /** A record and the file line it starts on. */
  add(rec: Buffer, line: number): void {
    if (this.pending.length > 0 && this.pendingBytes + 1 + rec.length > this.maxChunkBytes) this.flush();
    const i = this.pending.length;
    this.pendingBytes += i > 0 ? rec.length + 1 : rec.length;
    if (i === 0) {
      this.pendingLines = { first: line, jumps: null };
      this.pendingExtra = 0;
    } else {
      // Lines and rows drift apart after quoted newlines and blank lines: kept only where they do.
      const extra = line - this.pendingLines.first - i;
      if (extra !== this.pendingExtra) (this.pendingLines.jumps ??= []).push(i, (this.pendingExtra = extra));
    }
    this.pending.push(rec);
    if (this.pending.length >= this.chunkRows) this.flush();
  }

  /** Cuts the records pending into a chunk (at the end of the input). */
  flush(): void {
    const recs = this.pending;
    if (recs.length === 0) return;
    const payload = Buffer.allocUnsafe(this.pendingBytes);
    let off = this.frame.open.copy(payload, 0);
    for (let i = 0; i < recs.length; i++) {
      if (i > 0) payload[off++] = this.frame.separator;
      off += recs[i].copy(payload, off);
    }
    this.frame.close.copy(payload, off);
    this.ready.push({ seq: this.seq++, firstRow: this.chunkedRows + 1, rowCount: recs.length, payload, lines: this.pendingLines });
    this.chunkedRows += recs.length;
    this.pending = [];
    this.pendingBytes = this.framing();
  }

  /** Completed chunks since the last drain, in order. */
  drain(): Chunk[] {
    const r = this.ready;
    this.ready = [];
    return r;
  }

  private framing(): number {
    return this.frame.open.length + this.frame.close.length;
  }
}
