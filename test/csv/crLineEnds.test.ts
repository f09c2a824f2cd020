import { describe, expect, it } from 'vitest';
import { crLineEnds } from '../../src/csv/crLineEnds.js';

// Every way of cutting an upload into pieces must give the same bytes.
function through(text: string, cuts: number[]): string {
  const t = crLineEnds();
  const bytes = Buffer.from(text);
  const out: Buffer[] = [];
  let at = 0;
  for (const c of [...cuts, bytes.length]) {
    out.push(t.push(bytes.subarray(at, c)));
    at = c;
  }
  out.push(t.end());
  return Buffer.concat(out).toString();
}

const everyCut = (text: string) => Array.from({ length: text.length + 1 }, (_, i) => through(text, [i]));

describe('CR-only line ends', () => {
  it('reads a CR-terminated upload as LF-terminated, however it is cut', () => {
    for (const got of everyCut('a,b\r1,2\r3,"x\ry"\r')) expect(got).toBe('a,b\n1,2\n3,"x\ny"\n');
  });

  it('leaves CRLF and LF uploads as sent, CRs inside quotes included', () => {
    for (const got of everyCut('a,b\r\n1,"x\ry"\r\n')) expect(got).toBe('a,b\r\n1,"x\ry"\r\n');
    for (const got of everyCut('a,b\n1,"x\ry"\n')) expect(got).toBe('a,b\n1,"x\ry"\n');
  });

  it('an upload ending in its first CR ends its line', () => {
    expect(through('a,b\r', [])).toBe('a,b\n');
    expect(through('a,b\r', [4])).toBe('a,b\n');
  });
});
