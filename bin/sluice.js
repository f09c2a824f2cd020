#!/usr/bin/env node
// The `sluice` command (package.json "bin"; `npm link` puts it on PATH, `npm run cli -- …` runs it
// in the repo). The CLI is TypeScript (src/cli): tsx, a dependency, is registered first so plain
// node runs it. This is the one place that reads process.env and exits.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
const stop = new AbortController();
process.once('SIGINT', () => {
  stop.abort();
  process.once('SIGINT', () => process.exit(130)); // a second Ctrl-C does not wait
});
const code = await main(process.argv.slice(2), process.env, { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr }, stop.signal);
// Let what is still buffered for a pipe reach it before exiting (pipes are asynchronous on macOS).
await Promise.all([process.stdout, process.stderr].map((s) => new Promise((resolve) => s.write('', resolve))));
process.exit(code);
