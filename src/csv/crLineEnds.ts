// Classic Mac exports (Excel's "CSV (Macintosh)", some instruments) end lines with CR alone. Read
// as they are, such a file is one endless header record. The first line end decides: an upload
// whose first CR is not followed by a LF (and comes before any LF) is read with every CR as a LF;
// any other upload passes as sent.

const CR = 0x0d;
const LF = 0x0a;

/** Returns a function to pass each piece of the upload through, in order; `end()` gives what it held back. */
export function crLineEnds(): { push(buf: Buffer): Buffer; end(): Buffer } {
  let mode: 'undecided' | 'as-sent' | 'cr' = 'undecided';
  // A piece ending in its first CR cannot tell which it is until the next byte: that CR waits.
  let held: Buffer | null = null;
  const convert = (buf: Buffer) => {
    if (buf.indexOf(CR) === -1) return buf;
    const out = Buffer.from(buf);
    for (let i = out.indexOf(CR); i !== -1; i = out.indexOf(CR, i + 1)) out[i] = LF;
    return out;
  };
  return {
    push(piece) {
      let buf = held ? Buffer.concat([held, piece]) : piece;
      held = null;
      if (mode === 'undecided') {
        const lf = buf.indexOf(LF);
        const cr = buf.indexOf(CR);
        if (cr === -1 || (lf !== -1 && lf < cr)) mode = lf === -1 ? 'undecided' : 'as-sent';
        else if (cr === buf.length - 1) {
          held = buf.subarray(cr);
          buf = buf.subarray(0, cr);
        } else mode = buf[cr + 1] === LF ? 'as-sent' : 'cr';
      }
      return mode === 'cr' ? convert(buf) : buf;
    },
    end() {
      // An upload that ends in its first CR: that CR ends the last line either way.
      return held ? Buffer.from([LF]) : Buffer.alloc(0);
    },
  };
}
