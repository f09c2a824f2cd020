// How encodeResultRows (resultRows.ts) writes: one growing buffer, no piece per value to join.

/** An append-only big-endian buffer that grows as needed: every write makes room for itself. */
export class ByteWriter {
  private buf = Buffer.allocUnsafe(64 * 1024);
  private view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  private at = 0;

  private ensure(n: number) {
    if (this.at + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + n));
    this.buf.copy(next, 0, 0, this.at);
    this.buf = next;
    this.view = new DataView(next.buffer, next.byteOffset, next.byteLength);
  }
  uint8(v: number) {
    this.ensure(1);
    this.buf[this.at++] = v;
  }
  uint32(v: number) {
    this.ensure(4);
    this.view.setUint32(this.at, v);
    this.at += 4;
  }
  float64(v: number) {
    this.ensure(8);
    this.view.setFloat64(this.at, v);
    this.at += 8;
  }
  float32s(xs: ArrayLike<number>) {
    this.ensure(4 + 4 * xs.length);
    this.view.setUint32(this.at, xs.length);
    this.at += 4;
    for (let i = 0; i < xs.length; i++, this.at += 4) this.view.setFloat32(this.at, xs[i]);
  }
  /** A length-prefixed UTF-8 string, or -1 for null. */
  text(s: string | null) {
    if (s === null) {
      this.ensure(4);
      this.view.setInt32(this.at, -1);
      this.at += 4;
      return;
    }
    this.ensure(4 + s.length * 3);
    const n = this.buf.write(s, this.at + 4, 'utf8');
    this.view.setInt32(this.at, n);
    this.at += 4 + n;
  }
  /** Length-prefixed bytes, as they are. */
  bytes(b: Uint8Array) {
    this.ensure(4 + b.byteLength);
    this.view.setUint32(this.at, b.byteLength);
    this.buf.set(b, this.at + 4);
    this.at += 4 + b.byteLength;
  }
  done(): Buffer {
    return this.buf.subarray(0, this.at);
  }
}
