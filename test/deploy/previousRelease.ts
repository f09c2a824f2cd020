import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

// The previous release, as CHANGELOG.md records it (git tags may not travel with the repository),
// extracted from git and installed the way CI installs a checkout, for the upgrade test.

export const ROOT = path.resolve(import.meta.dirname, '../..');

export interface Release {
  version: string;
  date: string;
  /** The full hash on the entry's `Commit:` line. */
  commit: string;
}

/** The changelog's release entries, newest first as the file lists them (Unreleased is not one). */
export function releasesOf(changelog: string): Release[] {
  const out: Release[] = [];
  const lines = changelog.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const head = /^## \[(\d+\.\d+\.\d+)\] - (\d{4}-\d{2}-\d{2})\s*$/.exec(lines[i]);
    if (!head) continue;
    const next = lines.findIndex((l, j) => j > i && l.startsWith('## '));
    const body = lines.slice(i + 1, next === -1 ? undefined : next);
    const commit = body.map((l) => /^Commit: `([0-9a-f]{40})`\s*$/.exec(l)?.[1]).find(Boolean);
    if (!commit) throw new Error(`CHANGELOG.md: release ${head[1]} has no "Commit: \`<40 hex digits>\`" line`);
    out.push({ version: head[1], date: head[2], commit });
  }
  return out;
}

const git = (...args: string[]) => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim();

/**
 * The newest release whose commit is not the one checked out: what the code under test upgrades
 * from. (At a release's own commit, the one before it.)
 */
export function previousRelease(): Release {
  const head = git('rev-parse', 'HEAD');
  const releases = releasesOf(readFileSync(path.join(ROOT, 'CHANGELOG.md'), 'utf8'));
  const prev = releases.find((r) => r.commit !== head);
  if (!prev) throw new Error(`CHANGELOG.md names no release other than HEAD (${head})`);
  try {
    git('cat-file', '-e', `${prev.commit}^{commit}`);
  } catch {
    throw new Error(`release ${prev.version}'s commit ${prev.commit} is not in this repository (a shallow clone? fetch its history)`);
  }
  return prev;
}

const STAMP = '.sluice-release-installed';

/**
 * The release's files (`git archive`, no worktree: .git is left alone) with its own node_modules
 * (`npm ci`), under .cache/upgrade/<commit>/, kept for the next run. Built beside the final
 * directory and renamed into place once installed, so an interrupted install is never reused.
 * `installMs` is null when the cached tree was reused.
 */
export async function installedRelease(release: Release): Promise<{ dir: string; installMs: number | null }> {
  const base = path.join(ROOT, '.cache/upgrade');
  const dir = path.join(base, release.commit);
  if (existsSync(path.join(dir, STAMP))) return { dir, installMs: null };
  const partial = `${dir}.partial-${process.pid}`;
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial, { recursive: true });
  const started = Date.now();
  try {
    await run('sh', ['-c', `git -C "$0" archive "$1" | tar -x -C "$2"`, ROOT, release.commit, partial], ROOT);
    // npm_* variables of an enclosing `npm test` describe this checkout, not the release's.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith('npm_')));
    await run('npm', ['ci', '--no-audit', '--no-fund'], partial, env);
    writeFileSync(path.join(partial, STAMP), `${release.version} ${release.commit} installed ${new Date().toISOString()}\n`);
    rmSync(dir, { recursive: true, force: true });
    renameSync(partial, dir);
  } catch (err) {
    rmSync(partial, { recursive: true, force: true });
    throw err;
  }
  return { dir, installMs: Date.now() - started };
}

async function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const [code] = await once(child, 'close');
  if (code !== 0) throw new Error(`${cmd} ${args.join(' ')} (in ${cwd}) exited ${code}:\n${out.slice(-4000)}`);
}
