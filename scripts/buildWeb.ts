import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// npm run build:web: builds the dashboard (web/, its own package) into web/dist, which the api
// serves at / (src/http/staticSite.ts). Its dependencies are installed first with `npm ci` in web/
// when they are missing or older than web/package-lock.json (from the npm registry, like the
// root's). When the dashboard is built: by `npm run demo` (only when web/ changed since the last
// build, alongside its other steps), or by hand with this command. `npm ci` at the root does not
// build it (no postinstall: installing stays quick, offline-cacheable and free of a front-end
// toolchain for the api image); an api started before any build answers / with how to build it,
// and serves a build made later without a restart.

const ROOT = path.resolve(import.meta.dirname, '..');
export const WEB_DIR = path.join(ROOT, 'web');
const DIST_INDEX = path.join(WEB_DIR, 'dist', 'index.html');
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/** What a build is made from: the application's sources, its page, its package and tool configuration. */
const isInput = (name: string) => ['src', 'public', 'index.html', 'package.json', 'package-lock.json'].includes(name) || /^(vite|tsconfig|env)\b.*\.(ts|js|mjs|json|d\.ts)$/.test(name);

/** The newest modification time under `dir` (at the top of web/, only what a build is made from). */
function newestSource(dir: string, top = true): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (top ? !isInput(e.name) : e.name === 'node_modules') continue;
    const p = path.join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestSource(p, false) : statSync(p).mtimeMs);
  }
  return newest;
}

/** True when web/ exists and web/dist is missing or older than a file of web/. */
export function webBuildStale(): boolean {
  if (!existsSync(path.join(WEB_DIR, 'package.json'))) return false;
  return !existsSync(DIST_INDEX) || statSync(DIST_INDEX).mtimeMs < newestSource(WEB_DIR);
}

function depsStale(): boolean {
  const lock = path.join(WEB_DIR, 'package-lock.json');
  const installed = path.join(WEB_DIR, 'node_modules', '.package-lock.json');
  if (!existsSync(installed)) return true;
  return existsSync(lock) && statSync(installed).mtimeMs < statSync(lock).mtimeMs;
}

function npm(args: string[], quiet: boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(NPM, args, { cwd: WEB_DIR, stdio: quiet ? ['ignore', 'pipe', 'pipe'] : 'inherit', env: process.env });
    let out = '';
    const keep = (b: Buffer) => {
      out = (out + b.toString()).slice(-4000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`npm ${args.join(' ')} in web/ exited with ${code}${out ? `:\n${out.trim()}` : ''}`))));
  });
}

/** Installs web/'s dependencies when needed, then runs its `build` script (vite build → web/dist). */
export async function buildWeb(opts: { quiet?: boolean } = {}): Promise<void> {
  if (!existsSync(path.join(WEB_DIR, 'package.json'))) throw new Error('web/package.json is missing: there is no dashboard to build in this checkout');
  const quiet = opts.quiet ?? false;
  if (depsStale()) await npm(existsSync(path.join(WEB_DIR, 'package-lock.json')) ? ['ci', '--no-audit', '--no-fund'] : ['install', '--no-audit', '--no-fund'], quiet);
  await npm(['run', 'build'], quiet);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    await buildWeb();
    console.log(`built the dashboard into ${path.relative(process.cwd(), path.dirname(DIST_INDEX)) || '.'}; the api serves it at /`);
  } catch (err) {
    console.error((err as Error).message);
    process.exit(1);
  }
}
