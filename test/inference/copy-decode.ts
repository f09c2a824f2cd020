// Reads back the binary COPY tuples the thread produces, so tests can compare predictions without a
// database (copy-encode.test.ts proves the encoding against a real Postgres).

export interface DecodedRow {
  jobId: string;
  rowNo: number;
  value: number | null;
  scores: number[] | null;
  passthrough: (string | null)[] | null;
  error: string | null;
}

export function decodeCopy(buf: Uint8Array): DecodedRow[] {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  let at = 0;
  const int32 = () => ((at += 4), view.getInt32(at - 4));
  const field = <T>(read: (len: number) => T): T | null => {
    const len = int32();
    if (len === -1) return null;
    const end = at + len;
    const v = read(len);
    if (at !== end) throw new Error(`field read ${at - end + len} of ${len} bytes`);
    return v;
  };
  const text = (len: number) => utf8.decode(buf.subarray(at, (at += len)));
  const array = <T>(element: (len: number) => T) => () => {
    const ndim = int32();
    int32(); // has-null flag
    int32(); // element type
    if (ndim === 0) return [];
    if (ndim !== 1) throw new Error(`expected a one-dimensional array, got ${ndim}`);
    const n = int32();
    if (int32() !== 1) throw new Error('expected lower bound 1');
    return Array.from({ length: n }, () => field(element));
  };
  const rows: DecodedRow[] = [];
  while (at < buf.length) {
    const fields = view.getInt16(at);
    at += 2;
    if (fields !== 6) throw new Error(`expected 6 fields, got ${fields}`);
    const uuid = field((len) => Buffer.from(buf.subarray(at, (at += len))).toString('hex'))!;
    rows.push({
      jobId: uuid.replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, '$1-$2-$3-$4-$5'),
      rowNo: field(() => ((at += 8), view.getInt32(at - 8) * 2 ** 32 + view.getUint32(at - 4)))!,
      value: field(() => ((at += 8), view.getFloat64(at - 8))),
      scores: field(array(() => ((at += 4), view.getFloat32(at - 4)))) as number[] | null,
      passthrough: field(array(text)),
      error: field(text),
    });
  }
  return rows;
}
