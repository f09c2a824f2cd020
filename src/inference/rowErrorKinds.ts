// The kinds of row error, for a job's error summary. A row's error is a sentence written for the
// person who will fix the file, and may quote the cell ("column "age": "abc" is not a number"); the
// summary counts rows by kind, so 100,000 different bad values make one line, not 100,000. The
// sentences are Sluice's own (preprocess.ts, parse.ts, postprocess.ts, thread.ts): each pattern
// here matches one of them, and test/inference/rowErrorKinds.test.ts holds every one to it. A
// sentence no pattern knows is its own kind (code row_failed), quoted whole but bounded.

export interface RowErrorKind {
  code: string;
  /** The sentence without the quoted value, the same for every row of the kind. */
  message: string;
}


const KINDS: { re: RegExp; kind: (m: RegExpMatchArray) => RowErrorKind }[] = [
  { re: /^column ("(?:[^"\\]|\\.)*") is missing$/, kind: (m) => ({ code: 'missing_value', message: `column ${m[1]} is missing` }) },
  { re: /^column ("(?:[^"\\]|\\.)*"): .* is not a (finite )?number$/s, kind: (m) => ({ code: 'not_a_number', message: `column ${m[1]} is not a number` }) },
  { re: /^column ("(?:[^"\\]|\\.)*"): the value after scaling is out of range for (\w+)$/, kind: (m) => ({ code: 'out_of_range', message: `column ${m[1]}: the value after scaling is out of range for ${m[2]}` }) },
  { re: /^column ("(?:[^"\\]|\\.)*"): .* is not a valid (\w+)$/s, kind: (m) => ({ code: 'not_an_integer', message: `column ${m[1]} is not a valid ${m[2]}` }) },
  { re: /^expected (\d+) fields, got \d+$/, kind: (m) => ({ code: 'wrong_field_count', message: `the row does not have the header's ${m[1]} fields` }) },
  { re: /^(unbalanced quote|unexpected quote|unexpected text after a closing quote|malformed CSV|malformed row)/, kind: (m) => ({ code: 'malformed_row', message: `malformed CSV: ${m[1]}` }) },
  { re: /^invalid UTF-8/, kind: () => ({ code: 'invalid_utf8', message: 'invalid UTF-8: save the file with UTF-8 encoding' }) },
  { re: /^contains a NUL byte/, kind: () => ({ code: 'binary_data', message: 'contains a NUL byte: this looks like binary data, not CSV text' }) },
  { re: /^record is not an object$/, kind: () => ({ code: 'invalid_record', message: 'record is not an object' }) },
  { re: /^model returned NaN/, kind: () => ({ code: 'model_output_nan', message: 'model returned NaN for every class' }) },
];

export function rowErrorKind(error: string): RowErrorKind {
  for (const { re, kind } of KINDS) {
    const m = error.match(re);
    if (m) return kind(m);
  }
  return { code: 'row_failed', message: error.slice(0, 200) };
}

export interface ErrorCount extends RowErrorKind {
  count: number;
  /** Indices (0-based, in the part) of the first rows with the error, ascending, at most 5. */
  first: number[];
}

/** Counts a part's row errors by kind as they are met, in row order. */
export class ErrorCounter {
  private readonly byKey = new Map<string, ErrorCount>();
  add(error: string, index: number): void {
    const kind = rowErrorKind(error);
    const key = `${kind.code}\u0000${kind.message}`;
    const c = this.byKey.get(key);
    if (!c) this.byKey.set(key, { ...kind, count: 1, first: [index] });
    else {
      c.count++;
      if (c.first.length < 5) c.first.push(index);
    }
  }
  counts(): ErrorCount[] {
    return [...this.byKey.values()];
  }
}
