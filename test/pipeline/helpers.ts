import * as ort from 'onnxruntime-node';
import type { Signature } from '../../src/models/signature.js';

/** The reference: the signature's preprocessing written out plainly, then onnxruntime called directly. */
export async function scoreDirectly(
  onnx: Uint8Array,
  signature: Signature,
  rows: Record<string, string>[],
  opts: { input?: string; output: string; shape?: number[] },
): Promise<number[][]> {
  const session = await ort.InferenceSession.create(onnx);
  const n = signature.columns!.length;
  const data = new Float32Array(rows.length * n);
  rows.forEach((r, i) =>
    signature.columns!.forEach((c, j) => {
      const x = Number(r[c]) * (signature.scale ?? 1);
      data[i * n + j] = (x - (signature.mean?.[j] ?? 0)) / (signature.std?.[j] ?? 1);
    }),
  );
  const input = opts.input ?? session.inputNames[0];
  const out = await session.run({ [input]: new ort.Tensor('float32', data, [rows.length, ...(opts.shape ?? [n])]) });
  const t = out[opts.output];
  const width = t.data.length / rows.length;
  return Array.from({ length: rows.length }, (_, i) => Array.from(t.data as Float32Array).slice(i * width, (i + 1) * width).map(Number));
}

/** A tiny RFC 4180 reader for test assertions (the product's own parser is what is under test). */
export function readCsv(text: string): Record<string, string>[] {
  const records: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') (cell += '"'), i++;
      else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') row.push(cell), (cell = '');
    else if (ch === '\n') row.push(cell), records.push(row), (row = []), (cell = '');
    else if (ch !== '\r') cell += ch;
  }
  if (cell || row.length) row.push(cell), records.push(row);
  const [header, ...data] = records;
  return data.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i]])));
}
