import { Buffer } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import { parseHeader } from '../../src/csv/header.js';
import { CsvLimitError } from '../../src/csv/records.js';

const B = (s: string) => Buffer.from(s, 'utf8');

function invalid(record: Buffer, delimiter = ','): CsvLimitError {
  try {
    parseHeader(record, delimiter);
  } catch (err) {
    expect(err).toBeInstanceOf(CsvLimitError);
    expect((err as CsvLimitError).code).toBe('invalid_csv');
    return err as CsvLimitError;
  }
  throw new Error('expected invalid_csv');
}

describe('parseHeader', () => {
  it.each([
    ['plain', 'id,x1,x2', ',', ['id', 'x1', 'x2']],
    ['spaces around names', '  id , x 1 ,x2  ', ',', ['id', 'x 1', 'x2']],
    ['quoted names with delimiters, quotes and spaces', 'id,"a,b","say ""hi""", " c d " ', ',', ['id', 'a,b', 'say "hi"', 'c d']],
    ['semicolon', 'id; x;"y;z"', ';', ['id', 'x', 'y;z']],
    ['tab, empty names kept', '\tid\t\tx\t', '\t', ['', 'id', '', 'x', '']],
    ['BOM and a trailing CR', '\ufeffid,x\r', ',', ['id', 'x']],
    ['unicode names', 'température,日本', ',', ['température', '日本']],
    ['one column when the delimiter differs', 'a;b;c', ',', ['a;b;c']],
    ['duplicates kept for the caller to judge', 'a,a', ',', ['a', 'a']],
  ])('%s', (_name, text, delimiter, names) => {
    expect(parseHeader(B(text), delimiter)).toEqual(names);
  });

  it('refuses NUL bytes, naming a ZIP/Excel file when it looks like one', () => {
    expect(invalid(Buffer.from('a,b\0c')).message).toMatch(/NUL bytes/);
    expect(invalid(Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x14, 0x00, 0x06, 0x00])).message).toMatch(/ZIP or Excel/);
  });

  it('refuses invalid UTF-8, e.g. a Latin-1 file or gzip', () => {
    expect(invalid(Buffer.from('temp\xe9rature,x', 'latin1')).message).toMatch(/not valid UTF-8/);
    expect(invalid(Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x41])).message).toMatch(/gzip/);
  });

  it('refuses malformed quoting with an explanation', () => {
    expect(invalid(B('a,"b')).message).toMatch(/unbalanced quote/);
    expect(invalid(B('a,b"c"')).message).toMatch(/unexpected quote inside an unquoted field/);
    expect(invalid(B('a,"b"c')).message).toMatch(/after a closing quote/);
  });

  it('refuses an empty record and more than one record', () => {
    expect(invalid(B('')).message).toMatch(/empty/);
    expect(invalid(B('a,b\nc,d')).message).toMatch(/single record/);
  });
});
