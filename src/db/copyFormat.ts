// PostgreSQL's binary COPY format, as COPY ... TO STDOUT (FORMAT binary) writes it (chunk payloads
// for the worker): a signature, a flags field and a header extension, then tuples. A tuple is a
// 16-bit field count, then per field a 32-bit length (-1 for NULL) and that many bytes, all
// big-endian; a field count of -1 ends the data.

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A UUID in canonical text form: what may go into a COPY statement as a literal. */
export function isUuid(s: string): boolean {
  return UUID.test(s);
}

/** The rows of a binary COPY stream (header, tuples, trailer): each field's raw bytes, null for NULL. */
export function parseCopyRows(buf: Buffer): (Buffer | null)[][] {
  if (buf.length < SIGNATURE.length + 8 || !buf.subarray(0, SIGNATURE.length).equals(SIGNATURE)) throw new Error('not a binary COPY stream');
  let at = SIGNATURE.length + 4;
  at += 4 + buf.readUInt32BE(at); // header extension, skipped
  const rows: (Buffer | null)[][] = [];
  for (;;) {
    const fields = buf.readInt16BE(at);
    at += 2;
    if (fields === -1) return rows;
    const row: (Buffer | null)[] = new Array(fields);
    for (let f = 0; f < fields; f++) {
      const len = buf.readInt32BE(at);
      at += 4;
      if (len === -1) row[f] = null;
      else {
        if (at + len > buf.length) throw new Error('binary COPY stream cut short');
        row[f] = buf.subarray(at, (at += len));
      }
    }
    rows.push(row);
  }
}
