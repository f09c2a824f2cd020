import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { MissingKeyError, UsageError } from './exitCodes.js';

// Where the CLI finds the server and the key. The config file is written by `sluice login`:
// $SLUICE_CONFIG, else $XDG_CONFIG_HOME/sluice/config.json, else ~/.config/sluice/config.json,
// mode 0600 (it holds a key). SLUICE_URL and SLUICE_API_KEY win over the file, and --url over both.
// The environment comes in as a record (the entry point passes the process's environment), so tests set it per run.

export type Env = Record<string, string | undefined>;

export const DEFAULT_URL = 'http://localhost:8080';

export interface StoredConfig {
  url?: string;
  api_key?: string;
}

export interface Connection {
  url: string;
  apiKey: string | null;
  /** Where the key came from, for messages. */
  keyFrom: 'SLUICE_API_KEY' | 'config file' | null;
}

export function configPath(env: Env): string {
  if (env.SLUICE_CONFIG) return env.SLUICE_CONFIG;
  const base = env.XDG_CONFIG_HOME || join(env.HOME || '/', '.config');
  return join(base, 'sluice', 'config.json');
}

export async function readStored(path: string): Promise<StoredConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw err;
  }
  try {
    const parsed = JSON.parse(text) as unknown;
    return parsed && typeof parsed === 'object' ? (parsed as StoredConfig) : {};
  } catch {
    throw new UsageError(`The config file ${path} is not valid JSON: run sluice login again, or fix it by hand.`);
  }
}

/** Writes the file with mode 0600 (in a 0700 folder), replacing any earlier one whole. */
export async function writeStored(path: string, config: StoredConfig): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(config, null, 2) + '\n', { mode: 0o600 });
  await chmod(tmp, 0o600); // an existing file keeps its mode through writeFile's `mode`
  await rename(tmp, path);
}

export function resolveConnection(flags: { url?: string }, env: Env, stored: StoredConfig): Connection {
  const url = flags.url || env.SLUICE_URL || stored.url || DEFAULT_URL;
  if (!/^https?:\/\//i.test(url)) throw new UsageError(`The server address "${url}" is not an http(s) URL (from ${flags.url ? '--url' : env.SLUICE_URL ? 'SLUICE_URL' : 'the config file'}).`);
  if (env.SLUICE_API_KEY) return { url, apiKey: env.SLUICE_API_KEY, keyFrom: 'SLUICE_API_KEY' };
  if (stored.api_key) return { url, apiKey: stored.api_key, keyFrom: 'config file' };
  return { url, apiKey: null, keyFrom: null };
}

export function requireKey(c: Connection, path: string): string {
  if (c.apiKey) return c.apiKey;
  throw new MissingKeyError(`No API key: run "sluice login --url ${c.url}" (it saves the key in ${path}), or set SLUICE_API_KEY.`);
}
