import { describe, expect, it } from 'vitest';
import { ErrorCounter, rowErrorKind } from '../../src/inference/rowErrorKinds.js';
import { createPreprocessor, columnIndex } from '../../src/inference/preprocess.js';
import { parseChunk } from '../../src/csv/parse.js';
import { SignatureSchema } from '../../src/models/signature.js';

// Every row error Sluice writes falls into a kind whose message no longer holds the bad value, so
// a job's summary has one line per kind and column, however many different bad values there are.

const sig = SignatureSchema.parse({ columns: ['age', 'n'], task: 'regression' });

describe('row error kinds', () => {
  it('gives the errors the preprocessor writes their kind, without the value', () => {
    const p = createPreprocessor(sig, { inputType: 'int32', inputShape: [-1, 2] });
    const map = columnIndex(['age', 'n'], sig);
    const { errors } = p.csv([['abc', '1'], ['xyz', '1'], ['', '1'], ['1.5', '1'], ['1e300', '1']], map);
    expect(errors.map((e) => rowErrorKind(e!))).toEqual([
      { code: 'not_a_number', message: 'column "age" is not a number' },
      { code: 'not_a_number', message: 'column "age" is not a number' },
      { code: 'missing_value', message: 'column "age" is missing' },
      { code: 'not_an_integer', message: 'column "age" is not a valid int32' },
      { code: 'not_an_integer', message: 'column "age" is not a valid int32' },
    ]);
    const f = createPreprocessor(sig, { inputType: 'float32', inputShape: [-1, 2] });
    expect(rowErrorKind(f.csv([['1e300', '1']], map).errors[0]!)).toEqual({ code: 'out_of_range', message: 'column "age": the value after scaling is out of range for float32' });
    expect(rowErrorKind(f.json([{ age: [1], n: 1 }, 5]).errors[0]!).code).toBe('not_a_number');
    expect(rowErrorKind(f.json([5]).errors[0]!).code).toBe('invalid_record');
  });

  it('gives the parser\'s errors their kind', () => {
    const out = parseChunk(Buffer.from('1,2,3\n"a,1\n'), { delimiter: ',', fieldCount: 2, expectedRows: 2 });
    expect(out.errors.map((e) => rowErrorKind(e!).code)).toEqual(['wrong_field_count', 'malformed_row']);
    expect(rowErrorKind(parseChunk(Buffer.from([0xff, 0x2c, 0x31, 0x0a]), { delimiter: ',', fieldCount: 2, expectedRows: 1 }).errors[0]!).code).toBe('invalid_utf8');
  });

  it('counts rows by kind, keeping the first five', () => {
    const c = new ErrorCounter();
    for (let i = 0; i < 8; i++) c.add(`column "age": "${i}x" is not a number`, i * 2);
    c.add('something new', 3);
    expect(c.counts()).toEqual([
      { code: 'not_a_number', message: 'column "age" is not a number', count: 8, first: [0, 2, 4, 6, 8] },
      { code: 'row_failed', message: 'something new', count: 1, first: [3] },
    ]);
  });
});
