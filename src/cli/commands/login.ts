import { PermissionDeniedError, Sluice } from '../../client/index.js';
import type { CommandSpec } from '../command.js';
import { EXIT, UsageError } from '../exitCodes.js';
import type { Io } from '../output.js';
import { readStored, resolveConnection, writeStored } from '../settings.js';

export const login: CommandSpec = {
  words: ['login'],
  summary: 'Save the server address and an API key in the config file (mode 0600)',
  description:
    'The key is read from stdin when it is piped, else from SLUICE_API_KEY, else asked for (not echoed). ' +
    'It is checked against the server before it is saved. The file: $SLUICE_CONFIG, else $XDG_CONFIG_HOME/sluice/config.json, ' +
    'else ~/.config/sluice/config.json. SLUICE_URL and SLUICE_API_KEY, when set, win over it.',
  examples: ['sluice login --url http://localhost:8080', 'echo "$KEY" | sluice login --url https://sluice.example.com'],
  async run(ctx, _args, opts) {
    const stored = await readStored(ctx.configPath);
    const url = resolveConnection({ url: opts.url as string | undefined }, { ...ctx.env, SLUICE_API_KEY: undefined }, stored).url;
    const key = (await readKey(ctx.io, ctx.env.SLUICE_API_KEY)).trim();
    if (!key) throw new UsageError('No key given: pipe it on stdin (echo "$KEY" | sluice login --url …) or type it when asked.');
    const client = new Sluice({ baseUrl: url, apiKey: key });
    try {
      // Any /v1 read tells a good key from a bad one; a 403 (the key lacks models:read) is still a good key.
      await client.models.list({ max: 1 }).next();
    } catch (err) {
      if (!(err instanceof PermissionDeniedError)) throw err; // 401: exit 3, nothing saved
    }
    await writeStored(ctx.configPath, { ...stored, url, api_key: key });
    if (ctx.out.json) ctx.out.data({ url, config: ctx.configPath, key_prefix: key.slice(0, 12) });
    else ctx.out.line(`Logged in to ${url}; saved in ${ctx.configPath}`);
    if (ctx.env.SLUICE_API_KEY && ctx.env.SLUICE_API_KEY !== key) ctx.out.note('Note: SLUICE_API_KEY is set and wins over the saved key.');
    if (ctx.env.SLUICE_URL && ctx.env.SLUICE_URL !== url) ctx.out.note('Note: SLUICE_URL is set and wins over the saved address.');
    return EXIT.ok;
  },
};

async function readKey(io: Io, fromEnv: string | undefined): Promise<string> {
  if (!io.stdin.isTTY) {
    const piped = (await readAll(io.stdin)).split('\n')[0] ?? '';
    if (piped.trim()) return piped;
  }
  if (fromEnv) return fromEnv;
  if (!io.stdin.isTTY || !io.stdin.setRawMode) return '';
  return promptHidden(io, 'API key: ');
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of stream) text += chunk.toString();
  return text;
}

/** Asks on stderr and reads a line from the terminal without echoing it. */
function promptHidden(io: Io, question: string): Promise<string> {
  io.stderr.write(question);
  const stdin = io.stdin;
  stdin.setRawMode!(true);
  stdin.resume();
  return new Promise((resolve, reject) => {
    let value = '';
    const finish = (err?: Error) => {
      stdin.setRawMode!(false);
      stdin.pause();
      stdin.removeListener('data', onData);
      io.stderr.write('\n');
      if (err) reject(err);
      else resolve(value);
    };
    const onData = (buf: Buffer) => {
      for (const ch of buf.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return finish();
        if (ch === '\u0003') return finish(new UsageError('cancelled'));
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else value += ch;
      }
    };
    stdin.on('data', onData);
  });
}
