import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

// The dashboard renders every value as text (Vue's {{ }} and bound attributes escape it): no
// v-html, and no script of ours writes HTML (innerHTML, outerHTML, insertAdjacentHTML,
// document.write), so a value from a user or a model can never become markup. Nor does any
// template carry an inline style attribute, which the Content-Security-Policy (style-src 'self')
// refuses. The XSS test (security.test.ts) checks the built pages in a browser; this finds the
// construct in the source, with the file to fix.

const WEB_SRC = path.resolve(import.meta.dirname, '../../web/src');
const files = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(path.join(dir, e.name)) : /\.(vue|ts)$/.test(e.name) ? [path.join(dir, e.name)] : []));

describe('the dashboard source', () => {
  const sources = files(WEB_SRC).map((f) => ({ file: path.relative(WEB_SRC, f), text: readFileSync(f, 'utf8') }));

  it('has files to check', () => {
    expect(sources.filter((s) => s.file.endsWith('.vue')).length).toBeGreaterThan(20);
  });

  it('never renders HTML from a string', () => {
    const found = sources.filter((s) => /\bv-html\b|\binnerHTML\b|\bouterHTML\b|insertAdjacentHTML|document\.write/.test(s.text)).map((s) => s.file);
    expect(found).toEqual([]);
  });

  it('puts no inline style in a template', () => {
    const found = sources.filter((s) => s.file.endsWith('.vue') && /<[a-zA-Z][^>]*\s:?style=/.test(s.text.split('<script')[0] + (s.text.split('</script>')[1] ?? ''))).map((s) => s.file);
    expect(found).toEqual([]);
  });
});
