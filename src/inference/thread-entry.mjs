// piscina loads this plain-JS file in each worker thread; it loads thread.ts through tsx, so the
// pool works with no build step (under `tsx` and under vitest alike). tsImport scopes tsx to
// thread.ts and what it imports, and works whether or not the parent process runs under tsx.
import { tsImport } from 'tsx/esm/api';

const thread = await tsImport('./thread.ts', import.meta.url);

export default thread.default;
