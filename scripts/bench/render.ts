// Re-renders docs/benchmarks.md from docs/benchmarks.json without measuring again (after editing report.ts).
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from './common.js';
import { renderMarkdown } from './report.js';

const results = JSON.parse(readFileSync(path.join(ROOT, 'docs/benchmarks.json'), 'utf8'));
writeFileSync(path.join(ROOT, 'docs/benchmarks.md'), renderMarkdown(results));
