// Reads back the COPY text the thread produces, so tests can compare predictions without a database
// (copy-encode.test.ts proves the encoding against a real Postgres).

export interface DecodedRow {
  jobId: string;
  rowNo: number;
  value: number | null;
  scores: number[] | null;
  passthrough: (string | null)[] | null;
  error: string | null;
}

export function decodeCopy(buf: Uint8Array): DecodedRow[] {
  const text = new TextDecoder().decode(buf);
  if (text === '') return [];
  if (!text.endsWith('\n')) throw new Error('COPY text must end with a newline');
  return text
    .slice(0, -1)
    .split('\n')
    .map((line) => {
      const f = line.split('\t').map(unescapeField);
      if (f.length !== 6) throw new Error(`expected 6 fields, got ${f.length}: ${line}`);
      return {
        jobId: f[0]!,
        rowNo: Number(f[1]),
        value: f[2] === null ? null : Number(f[2]),
        scores: f[3] === null ? null : f[3] === '{}' ? [] : f[3].slice(1, -1).split(',').map(Number),
        passthrough: f[4] === null ? null : parseTextArray(f[4]),
        error: f[5],
      };
    });
}

function unescapeField(s: string): string | null {
  if (s === '\\N') return null;
  return s.replace(/\\(.)/g, (_, c: string) => ({ t: '\t', n: '\n', r: '\r' })[c] ?? c);
}

function parseTextArray(s: string): (string | null)[] {
  const out: (string | null)[] = [];
  let i = 1;
  while (i < s.length - 1) {
    if (s.startsWith('NULL', i)) {
      out.push(null);
      i += 4;
    } else {
      let v = '';
      for (i++; s[i] !== '"'; i++) v += s[i] === '\\' ? s[++i] : s[i];
      out.push(v);
      i++;
    }
    if (s[i] === ',') i++;
  }
  return out;
}
