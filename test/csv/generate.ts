import { Buffer } from 'node:buffer';
import { seededRandom } from '../../scripts/train/datasets.js';

// Seeded CSV files with known answers, for the splitter and parser property tests.

export type Rng = () => number;

/** The same seeded PRNG the demo's data split uses. */
export const rng: (seed: number) => Rng = seededRandom;

export const int = (r: Rng, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
export const pick = <T>(r: Rng, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];

/** What a data row must come out as: its cells, or an error of a known kind. */
export type Truth = { cells: string[] } | { error: 'fields'; got: number } | { error: 'quote' } | { error: 'utf8' };

export interface Generated {
  bytes: Buffer;
  delimiter: string;
  header: string[];
  rows: Truth[];
  /** csv-parse reads the whole file as the header plus the truth: no defects, and no "\r\r\n" blank line (csv-parse reads ["\r"]). */
  csvParseAgrees: boolean;
}

const NUMBERS = ['1.5', '-2', '+3.25e-4', '1E10', '-7.1e+3', '0', '-0.0', '42', ' 1.5', '1.5 ', '.5', 'NaN', 'nan', 'inf', '-Infinity', ''];
const TEXT = ['abc', 'é', '日本語', 'x y', 'x\ry', '#', "it's", '\\', '=1+2'];
const SPECIAL = ['a,b', 'a;b', 'a\tb', 'say "hi"', '"', '""', 'line1\nline2', 'crlf\r\ninside', 'end\r', '\r', '\n', ',;\t', ' "x" ', 'a longer value, with "quotes";\r\nand a line break\tin the middle of it'];
const INVALID_BYTE = '\u0001'; // replaced by 0xFF after encoding

export interface GenOptions {
  rows?: [number, number];
  defects?: boolean;
  bom?: boolean;
}

export function generateCsv(r: Rng, opts: GenOptions = {}): Generated {
  const delimiter = pick(r, [',', ';', '\t']);
  const fields = int(r, 1, 6);
  const quoting = pick(r, ['minimal', 'minimal', 'all', 'random'] as const);
  const special = r() < 0.5; // half the files have no value that needs quotes: the parser's fast path
  const [lo, hi] = opts.rows ?? [0, 30];
  const header = Array.from({ length: fields }, (_, i) => `col ${i}`);
  const headerRaw = header.map((h) => (r() < 0.3 ? `"${h}"` : pick(r, ['', ' ', '  ']) + h + pick(r, ['', ' '])));
  const lines: string[] = [headerRaw.join(delimiter)];
  const rows: Truth[] = [];
  let clean = true;

  const needsQuote = (c: string) => c.includes(delimiter) || c.includes('"') || c.includes('\n') || c.endsWith('\r') || (fields === 1 && c === '');
  const quote = (c: string) => `"${c.replace(/"/g, '""')}"`;
  const write = (c: string) => (needsQuote(c) || quoting === 'all' || (quoting === 'random' && r() < 0.3) ? quote(c) : c);
  const cell = () => {
    const u = r();
    if (u < 0.6) return pick(r, NUMBERS);
    if (u < 0.8 || !special) return pick(r, TEXT);
    return pick(r, SPECIAL);
  };

  const n = int(r, lo, hi);
  for (let i = 0; i < n; i++) {
    const cells = Array.from({ length: fields }, cell);
    const defect = opts.defects && r() < 0.15 ? pick(r, ['fields', 'quote', 'closing', 'utf8'] as const) : null;
    if (defect === 'fields') {
      const got = fields === 1 || r() < 0.5 ? fields + int(r, 1, 2) : int(r, 1, fields - 1);
      const vals = Array.from({ length: got }, () => pick(r, NUMBERS));
      if (got === 1 && vals[0] === '') vals[0] = '0'; // a lone empty field is a blank line
      lines.push(vals.map(write).join(delimiter));
      rows.push({ error: 'fields', got });
    } else if (defect === 'quote' || defect === 'closing') {
      // Bad quoting with an even number of quotes, so record boundaries are unaffected.
      const k = int(r, 0, fields - 1);
      const written = cells.map(write);
      written[k] = defect === 'quote' ? 'ab"c"d' : '"ab"x';
      lines.push(written.join(delimiter));
      rows.push({ error: 'quote' });
    } else if (defect === 'utf8') {
      const k = int(r, 0, fields - 1);
      cells[k] = `bad${INVALID_BYTE}byte`;
      lines.push(cells.map(write).join(delimiter));
      rows.push({ error: 'utf8' });
    } else {
      lines.push(cells.map(write).join(delimiter));
      rows.push({ cells });
      continue;
    }
    clean = false;
  }

  let text = '';
  for (let i = 0; i < lines.length; i++) {
    while (r() < 0.1) {
      const blank = pick(r, ['', '\r']) + pick(r, ['\n', '\r\n']);
      if (blank === '\r\r\n') clean = false;
      text += blank;
    }
    text += lines[i];
    if (i < lines.length - 1 || r() < 0.5) text += pick(r, ['\n', '\r\n']);
  }
  const body = Buffer.from(text, 'utf8');
  for (let i = body.indexOf(1); i !== -1; i = body.indexOf(1, i + 1)) body[i] = 0xff;
  const bom = opts.bom ?? r() < 0.2;
  return { bytes: bom ? Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), body]) : body, delimiter, header, rows, csvParseAgrees: clean };
}

/** Splits `bytes` into pieces at random positions (including empty pieces). */
export function randomPieces(r: Rng, bytes: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let pos = 0;
  while (pos < bytes.length) {
    const len = r() < 0.1 ? 0 : int(r, 1, Math.max(1, Math.min(64, bytes.length)));
    out.push(bytes.subarray(pos, pos + len));
    pos += len;
  }
  return out;
}
