import { describe, expect, it } from 'vitest';
import { parseNumericSlice } from '../../src/csv/numeric.js';
import { parseChunk } from '../../src/csv/parse.js';
import { columnIndex, createPreprocessor, passthroughCsv, type Preprocessed } from '../../src/inference/preprocess.js';
import { SignatureSchema } from '../../src/models/signature.js';
import { int, pick, rng, type Rng } from './generate.js';

// The fast numeric path against the general road it stands in for (parseChunk's cells, then the
// preprocessor's cell rules): wherever the fast path answers, the two must agree bit for bit;
// wherever they might not, it must step aside.

/** The general road, as the inference thread takes it for a CSV slice. */
function general(bytes: Buffer, opts: { delimiter: string; fieldCount: number; expectedRows: number }, pre: ReturnType<typeof createPreprocessor>, map: ReturnType<typeof columnIndex>) {
  const parsed = parseChunk(bytes, opts);
  return { pre: pre.csv(parsed.rows, map, parsed.errors), passthrough: parsed.rows.map((r) => passthroughCsv(r, map)) };
}

function expectSame(a: Preprocessed, b: Preprocessed) {
  expect(a.valid).toEqual(b.valid);
  expect(a.errors).toEqual(b.errors);
  expect(a.data.length).toBe(b.data.length);
  for (let i = 0; i < a.data.length; i++) if (!Object.is(a.data[i], b.data[i])) expect.fail(`value ${i}: ${a.data[i]} vs ${b.data[i]}`);
}

/** A plain decimal of 1..maxDigits digits, sign and point anywhere they may go. */
function plainDecimal(r: Rng, maxDigits = 15): string {
  const digits = Array.from({ length: int(r, 1, maxDigits) }, () => String(int(r, 0, 9))).join('');
  const point = r() < 0.8 ? int(r, 0, digits.length) : -1;
  const body = point === -1 ? digits : `${digits.slice(0, point)}.${digits.slice(point)}`;
  return pick(r, ['', '', '-', '+']) + body;
}

// Feature cells outside plain decimals, in ASCII: handed over as text for the preprocessor's cell
// rules (missing, error, or a number through the regex and Number()).
const TEXT_CELLS = ['', ' 1', '1 ', '1e5', '-2.5E-3', 'NaN', 'na', 'null', '.', '-', '+', '1.2.3', '0x10', 'Infinity', '1234567890123456', '0.0000000000000001', '1\r2', 'abc'];
// Cells that could move cell boundaries or need UTF-8: the whole slice goes the general road.
const REFUSED = ['٣', 'é', '"1"', 'a"b'];

describe('fast numeric slices', () => {
  it('reads a plain decimal of up to 15 digits as exactly what Number() gives', () => {
    const r = rng(7);
    const cells = Array.from({ length: 20_000 }, () => plainDecimal(r));
    const fast = parseNumericSlice(Buffer.from(cells.join('\n')), { delimiter: ',', fieldCount: 1, expectedRows: cells.length, features: [0], passthrough: [] });
    expect(fast).not.toBeNull();
    cells.forEach((c, i) => Object.is(fast!.values[i], Number(c)) || expect.fail(`${c}: ${fast!.values[i]} vs ${Number(c)}`));
  });

  it('hands every other feature cell over as its text, which the preprocessor reads as the general road does', () => {
    const sig = SignatureSchema.parse({ columns: ['a', 'b'], task: 'regression', missing: { fill: -1 } });
    const map = columnIndex(['a', 'b'], sig);
    const pre = createPreprocessor(sig, { inputShape: [-1, 2], inputType: 'float64' });
    const bytes = Buffer.from(TEXT_CELLS.map((c) => `7,${c}`).join('\n'));
    const opts = { delimiter: ',', fieldCount: 2, expectedRows: TEXT_CELLS.length };
    const fast = parseNumericSlice(bytes, { ...opts, ...map });
    expect(fast).not.toBeNull();
    expect([...fast!.texts.values()]).toEqual(TEXT_CELLS);
    expectSame(pre.numbers(fast!.values, TEXT_CELLS.length, fast!.texts), general(bytes, opts, pre, map).pre);
  });

  it('steps aside for whatever could move cell boundaries: quotes, non-ASCII, field and row counts', () => {
    const opts = { delimiter: ',', fieldCount: 2, expectedRows: 1, features: [0, 1], passthrough: [] };
    for (const cell of REFUSED) expect(parseNumericSlice(Buffer.from(`1,${cell}\n`), opts), JSON.stringify(cell)).toBeNull();
    expect(parseNumericSlice(Buffer.from('1,2,3\n'), opts)).toBeNull(); // too many fields
    expect(parseNumericSlice(Buffer.from('1\n'), opts)).toBeNull(); // too few
    expect(parseNumericSlice(Buffer.from('1,2\n3,4\n'), opts)).toBeNull(); // more rows than stored
    expect(parseNumericSlice(Buffer.from(''), opts)).toBeNull(); // fewer
    expect(parseNumericSlice(Buffer.from('1,2\n'), { ...opts, delimiter: '"' })).toBeNull();
    expect(parseNumericSlice(Buffer.from('102\n'), { ...opts, delimiter: '0' })).toBeNull(); // a digit delimiter would read as a digit
    expect(parseNumericSlice(Buffer.from('1,2\n'), { ...opts, features: [0, 0] })).toBeNull();
    // Not a number but not a feature either: ignored, as the general road ignores it.
    expect(parseNumericSlice(Buffer.from('1,x y,2\r\n'), { ...opts, fieldCount: 3, features: [0, 2] })?.values).toEqual(new Float64Array([1, 2]));
  });

  it('agrees with the general road on generated slices, values, row errors and passthrough alike', () => {
    const r = rng(2026);
    let fastTaken = 0;
    const trials = 600;
    for (let t = 0; t < trials; t++) {
      const delimiter = pick(r, [',', ';', '\t', '|']);
      const fieldCount = int(r, 1, 7);
      const header = Array.from({ length: fieldCount }, (_, i) => `c${i}`);
      const nf = int(r, 1, fieldCount);
      const order = [...header].sort(() => r() - 0.5);
      const columns = order.slice(0, nf);
      const passthrough = [...order.slice(nf, nf + int(r, 0, fieldCount - nf)), ...(r() < 0.3 ? ['absent'] : [])];
      const signature = SignatureSchema.parse({
        columns, passthrough, task: 'regression',
        ...(r() < 0.5 ? { scale: pick(r, [0.5, 3, 1 / 255]), mean: columns.map(() => r() * 10), std: columns.map(() => 0.5 + r()) } : {}),
        missing: r() < 0.5 ? 'error' : { fill: 0 },
      });
      const map = columnIndex(header, signature);
      const pre = createPreprocessor(signature, { inputShape: [-1, nf], inputType: pick(r, ['float32', 'float32', 'float64', 'int32'] as const) });
      // Most slices are clean numbers (the fast path's case); some carry one defect somewhere.
      const defect = r() < 0.4;
      const rows = int(r, 1, 40);
      const lines: string[] = [];
      for (let i = 0; i < rows; i++) {
        const cells = header.map((h) => (columns.includes(h) ? plainDecimal(r, pick(r, [3, 8, 15])) : pick(r, ['id-1', 'x y', '', 'tag', '42'])));
        lines.push(cells.join(delimiter));
        if (r() < 0.1) lines.push(pick(r, ['', '\r']));
      }
      if (defect) {
        const i = int(r, 0, lines.length - 1);
        const cells = lines[i].split(delimiter);
        cells[int(r, 0, cells.length - 1)] = pick(r, [...TEXT_CELLS, ...TEXT_CELLS, ...REFUSED, 'a,b', '1;2']);
        lines[i] = cells.join(delimiter);
      }
      const bytes = Buffer.from(lines.join(pick(r, ['\n', '\r\n'])) + pick(r, ['', '\n', '\r\n']));
      const opts = { delimiter, fieldCount, expectedRows: rows };
      const fast = parseNumericSlice(bytes, { ...opts, ...map });
      if (!fast) continue;
      fastTaken++;
      const want = general(bytes, opts, pre, map);
      expectSame(pre.numbers(fast.values, rows, fast.texts), want.pre);
      expect(fast.passthrough).toEqual(want.passthrough);
    }
    // The clean slices (about 60 %) and those whose defect is only a cell's text must all have taken it.
    expect(fastTaken).toBeGreaterThan(trials * 0.7);
  });
});
