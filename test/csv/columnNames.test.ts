import { describe, expect, it } from 'vitest';
import { closestName, columnKey, matchHeader } from '../../src/csv/columnNames.js';

describe('matching header names to columns', () => {
  it('ignores case and Unicode normal form', () => {
    const decomposed = 'Temperature (\u0065\u0301t\u0065\u0301)';
    const composed = 'temperature (\u00e9t\u00e9)';
    expect(columnKey(decomposed)).toBe(columnKey(composed));
    expect(matchHeader(['ID', decomposed, 'x'], ['id', composed, 'X'])).toEqual({ at: [0, 1, 2], missing: [], duplicated: [] });
  });

  it('names what is missing and what is there twice', () => {
    expect(matchHeader(['a', 'A', 'b'], ['a', 'c'])).toEqual({ at: [0, -1], missing: ['c'], duplicated: ['a'] });
    // A repeated column the model does not read is not a question.
    expect(matchHeader(['a', 'x', 'X'], ['a']).duplicated).toEqual([]);
  });

  it('suggests the closest header name for a likely typo only', () => {
    expect(closestName('Flipper Length (mm)', ['Flipper_Length_mm', 'flipper length(mm)', 'Body Mass (g)'])).toBe('flipper length(mm)');
    expect(closestName('species', ['island', 'sex'])).toBeNull();
  });
});
