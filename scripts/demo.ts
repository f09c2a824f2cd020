import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import path from 'node:path';
import { createKey } from '../src/auth/tenants.js';
import { loadConfig, type Config } from '../src/config.js';
import { createPool } from '../src/db/pool.js';
import { buildWeb, WEB_DIR, webBuildStale } from './buildWeb.js';
import { ensureServices, ServiceUnavailableError, type DemoServices } from './demoServices.js';
import type { Row } from './train/datasets.js';
import { trainDemoModels, writeDemoFiles } from './train/demoModels.js';

// npm run demo [-- --exit]: find (or start) Postgres and Redis, migrate, start an api and a worker
// (and, without --exit, build the dashboard the api serves at / when web/ changed since its last build),
// train the two demo models and write them with their signatures and CSVs to .demo/, register
// them, score their held-out rows as evaluation jobs (the penguins job with a webhook to a receiver
// the demo runs), show Sluice's figures beside the training metrics, and leave Sluice
// running for the README's "Use it" commands (or stop everything, with --exit).
const ROOT = path.resolve(import.meta.dirname, '..');
/** What the README's commands use: models, signatures, CSVs and env.sh (addresses of this run). Tests move it with SLUICE_DEMO_DIR. */
const DEMO_DIR = process.env.SLUICE_DEMO_DIR ? path.resolve(process.env.SLUICE_DEMO_DIR) : path.join(ROOT, '.demo');
const exitAfter = process.argv.includes('--exit');
const children: ChildProcess[] = [];
let services: DemoServices | undefined;
let receiver: http.Server | undefined;
const say = (s: string) => console.log(s);

// Webhook secrets are encrypted with SECRETS_KEY. Without one the demo makes its own and keeps it
// (gitignored), so secrets stored by one demo run still decrypt in the next; the processes would
// otherwise fall back to the public development key and warn.
const DEMO_KEY_FILE = path.join(ROOT, '.cache', 'demo-secrets-key');
function demoSecretsKey(config: Config): Record<string, string> {
  if (config.secrets.source === 'env') return {};
  if (!existsSync(DEMO_KEY_FILE)) {
    mkdirSync(path.dirname(DEMO_KEY_FILE), { recursive: true });
    writeFileSync(DEMO_KEY_FILE, randomBytes(32).toString('base64'), { mode: 0o600 });
    say(`    made a SECRETS_KEY for the demo, kept in ${path.relative(ROOT, DEMO_KEY_FILE)}`);
  }
  return { SECRETS_KEY: readFileSync(DEMO_KEY_FILE, 'utf8').trim() };
}

function run(script: string, waitReady: boolean, env: NodeJS.ProcessEnv): Promise<ChildProcess> {
  // One node process per script (no tsx CLI relay in between). The api and the worker say they are
  // ready by a message on their IPC channel (src/lifecycle.ts); their output is not shown.
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, script)], { cwd: ROOT, env: { ...env, LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  children.push(child);
  let seen = '';
  const onData = (b: Buffer) => {
    seen += b.toString();
    if (seen.length > 100_000) seen = seen.slice(-10_000);
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  if (!waitReady) return once(child, 'exit').then(([code]) => (code === 0 ? child : Promise.reject(new Error(`${script} exited with ${code}:\n${seen.slice(-2000)}`))));
  return new Promise((resolve, reject) => {
    child.on('message', (m: { ready?: boolean }) => m?.ready && resolve(child));
    child.on('exit', (code) => reject(new Error(`${script} exited with ${code}:\n${seen.slice(-2000)}`)));
  });
}

let stopping: Promise<void> | undefined;
function stopAll(): Promise<void> {
  stopping ??= (async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
    await Promise.all(children.filter((c) => c.exitCode === null && c.signalCode === null).map((c) => once(c, 'exit')));
    receiver?.closeAllConnections();
    receiver?.close();
    await services?.stop();
  })();
  return stopping;
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => void stopAll().then(() => process.exit(0)));

interface Delivery {
  type: string;
  jobId: string;
}

/**
 * The demo's webhook receiver: it answers 204 to every delivery and shows it, so a callback_url
 * in the demo (or the README's examples) is delivered once instead of being retried for a day at
 * an address that does not answer. Signatures are not checked here (see the README for that).
 */
async function startReceiver(onDelivery: (d: Delivery) => void): Promise<string> {
  receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (b: Buffer) => (body += b.toString()));
    req.on('end', () => {
      try {
        const event = JSON.parse(body) as { type?: string; data?: { id?: string } };
        onDelivery({ type: String(event.type), jobId: String(event.data?.id) });
      } catch {}
      res.writeHead(204).end();
    });
  });
  receiver.listen(0, '127.0.0.1');
  await once(receiver, 'listening');
  return `http://127.0.0.1:${(receiver.address() as net.AddressInfo).port}/hook`;
}

/**
 * The dashboard (web/) built alongside the other steps when its build is missing or older than its
 * sources (scripts/buildWeb.ts); resolves to why it is not there, or null when it is. Never rejects:
 * the api runs without it and answers / with how to build it.
 */
let dashboardBuilding = false;
function prepareDashboard(): Promise<string | null> {
  if (!existsSync(path.join(WEB_DIR, 'package.json'))) return Promise.resolve('there is no web/ in this checkout');
  if (!webBuildStale()) return Promise.resolve(null);
  say('    building the dashboard meanwhile (npm run build:web; web/ changed since its last build)');
  dashboardBuilding = true;
  return buildWeb({ quiet: true })
    .then(
      () => null,
      (err: Error) => `its build failed: ${err.message.split('\n').slice(-6).join('\n    ')}`,
    )
    .finally(() => (dashboardBuilding = false));
}

try {
  say('1/7 checking Postgres and Redis');
  // --exit stops everything at the end: no browser will open the dashboard, so it is not built then.
  const dashboard = exitAfter ? Promise.resolve(null) : prepareDashboard();
  const env0 = loadConfig(process.env);
  services = await ensureServices(env0.databaseUrl, env0.redisUrl, say);
  for (const s of services.started) say(`    started a throwaway ${s}; it stops with the demo`);
  // Deliveries go to the demo's own receiver on 127.0.0.1, a private address.
  const env = { ...process.env, DATABASE_URL: services.databaseUrl, REDIS_URL: services.redisUrl, WEBHOOK_ALLOW_PRIVATE: process.env.WEBHOOK_ALLOW_PRIVATE ?? 'true', ...demoSecretsKey(env0),
    // Metrics listeners on free ports unless set: a demo beside another Sluice must not fail on a taken port.
    METRICS_PORT: process.env.METRICS_PORT ?? '0', WORKER_METRICS_PORT: process.env.WORKER_METRICS_PORT ?? '0' };
  const config = loadConfig(env);
  const base = `http://127.0.0.1:${config.port}`;
  const deliveries: Delivery[] = [];
  let showDeliveries = false;
  const hookUrl = await startReceiver((d) => {
    deliveries.push(d);
    if (showDeliveries) say(`webhook received: ${d.type} for job ${d.jobId}`);
  });

  say('2/7 migrating the database');
  await run('scripts/migrate.ts', false, env);
  const pool = createPool(config, 2);
  const { key } = await createKey(pool, 'demo', ['jobs:write', 'jobs:read', 'models:write', 'models:read', 'webhooks:write']);
  await pool.end();
  say('3/7 starting the api and a worker');
  await run('src/server.ts', true, env);
  await run('workers/predict.ts', true, env);
  const auth = { authorization: `Bearer ${key}` };
  // The demo tenant's default webhook secret, sealed anew with this run's SECRETS_KEY: one stored by
  // an earlier run may be sealed with another key (a removed .cache), and would not decrypt.
  const rotated = await fetch(`${base}/v1/webhooks/default-secret/rotate`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ overlap_seconds: 0 }) });
  if (rotated.status !== 200) throw new Error(`could not set the demo's webhook secret: ${rotated.status} ${await rotated.text()}`);

  say(`4/7 training the demo models (batch gradient descent, deterministic) into ${path.relative(process.cwd(), DEMO_DIR) || DEMO_DIR}/`);
  const demo = trainDemoModels();
  mkdirSync(DEMO_DIR, { recursive: true });
  const files = writeDemoFiles(demo, DEMO_DIR);
  // The addresses of this run, for the README's commands: `. .demo/env.sh`.
  writeFileSync(
    path.join(DEMO_DIR, 'env.sh'),
    `# Written by npm run demo: where this run's Sluice, Postgres, Redis and webhook receiver are.\n` +
      `# Valid while the demo runs. Use: . .demo/env.sh\n` +
      Object.entries({ SLUICE_URL: `http://localhost:${config.port}`, DATABASE_URL: config.databaseUrl, REDIS_URL: config.redisUrl, HOOK_URL: hookUrl })
        .map(([k, v]) => `export ${k}='${v}'\n`)
        .join(''),
  );
  say(`    ${[...files, 'env.sh'].join(', ')}`);
  for (const m of [demo.cars, demo.penguins]) {
    const form = new FormData();
    form.set('signature', JSON.stringify(m.signature));
    form.set('metrics', JSON.stringify(m.metrics));
    form.set('model', new Blob([Buffer.from(m.onnx)]), `${m.name}.onnx`);
    const res = await fetch(`${base}/v1/models/${m.name}/versions`, { method: 'POST', body: form, headers: auth });
    if (res.status !== 201) throw new Error(`registering ${m.name}: ${res.status} ${await res.text()}`);
    const v = await res.json();
    const alias = await fetch(`${base}/v1/models/${m.name}/aliases/production`, { method: 'PUT', body: JSON.stringify({ version: v.version }), headers: { ...auth, 'content-type': 'application/json' } });
    if (!alias.ok) throw new Error(`aliasing ${m.name}: ${alias.status} ${await alias.text()}`);
    say(`    registered ${m.name} v${v.version} (alias production)`);
  }

  say('5/7 scoring the held-out rows as evaluation jobs (each row\'s true value is a column of the CSV)');
  const jobs: Record<string, { id: string; results: string; evaluation: Record<string, any> }> = {};
  const targets = { cars: 'Miles_per_Gallon', penguins: 'Species' };
  for (const m of [demo.cars, demo.penguins]) {
    const hook = m.name === 'penguins' ? `&callback_url=${encodeURIComponent(hookUrl)}` : '';
    // label_column: Sluice scores the rows and measures the model against that column as it goes;
    // record=true keeps the figures on the model version (its model card).
    const query = `model=${m.name}@production&label_column=${encodeURIComponent(targets[m.name])}&record=true${hook}`;
    const res = await fetch(`${base}/v1/jobs?${query}`, { method: 'POST', body: m.holdoutCsv, headers: { ...auth, 'content-type': 'text/csv' } });
    if (res.status !== 202) throw new Error(`submitting ${m.name}: ${res.status} ${await res.text()}`);
    const job = await res.json();
    let j = job;
    const until = Date.now() + 120_000;
    while (!['completed', 'failed', 'cancelled'].includes(j.status)) {
      if (Date.now() > until) throw new Error(`${m.name} job ${job.id} still ${j.status} after 2 minutes: is the worker scoring? (its logs: npm run worker)`);
      j = await (await fetch(`${base}/v1/jobs/${job.id}?wait=10`, { headers: auth })).json();
    }
    if (j.status !== 'completed') throw new Error(`${m.name} job ended ${j.status}: ${JSON.stringify(j.error)}`);
    jobs[m.name] = { id: job.id, results: `${base}/v1/jobs/${job.id}/results`, evaluation: j.evaluation };
    say(`    ${m.name}: ${j.rows.succeeded} rows scored, ${j.rows.failed} failed, in ${j.duration_ms} ms`);
  }
  const deadline = Date.now() + 15_000;
  while (!deliveries.some((d) => d.jobId === jobs.penguins.id && d.type === 'job.completed') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  const got = deliveries.filter((d) => d.jobId === jobs.penguins.id).map((d) => d.type);
  say(got.includes('job.completed') ? `    webhook: ${got.join(', ')} delivered to the demo's receiver ${hookUrl}` : `    webhook: no job.completed delivery reached ${hookUrl} within 15 s`);

  say('6/7 what Sluice measured on the held-out rows, beside what training measured');
  const cars = jobs.cars.evaluation;
  const peng = jobs.penguins.evaluation;
  say(`    cars (linear regression, mpg): RMSE ${cars.rmse.toFixed(3)} served vs ${demo.cars.metrics.rmse.toFixed(3)} at training; R² ${cars.r2.toFixed(3)} vs ${demo.cars.metrics.r2.toFixed(3)}; MAE ${cars.mae.toFixed(3)}`);
  say(`    penguins (softmax regression, species): accuracy ${(peng.accuracy * 100).toFixed(1)} % served vs ${(demo.penguins.metrics.accuracy * 100).toFixed(1)} % at training; macro F1 ${peng.macro_f1.toFixed(3)}; log loss ${peng.log_loss.toFixed(3)}`);
  for (const c of peng.per_class as { label: string; precision: number; recall: number; f1: number; support: number }[]) {
    say(`      ${c.label.padEnd(10)} precision ${c.precision.toFixed(3)}  recall ${c.recall.toFixed(3)}  F1 ${c.f1.toFixed(3)}  (${c.support} rows)`);
  }

  say('7/7 one prediction, waiting for the answer');
  const one: Row = demo.penguins.holdout[0];
  const single = await (await fetch(`${base}/v1/predictions`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'penguins@production', inputs: [one], wait: 5 }) })).json();
  say(`    ${JSON.stringify(single.predictions?.[0])}`);

  const rel = path.relative(process.cwd(), DEMO_DIR) || DEMO_DIR;
  if (exitAfter) {
    await stopAll();
    say(`
Stopped (--exit): the api, the worker, the webhook receiver${services.started.length ? ' and the throwaway Postgres and Redis' : ''}.
The models, signatures and CSVs stay in ${rel}/; run \`npm run demo\` without --exit to try the README's commands.`);
  } else {
    if (dashboardBuilding) say('    waiting for the dashboard\'s build to finish');
    const notBuilt = await dashboard;
    const site = `http://localhost:${config.port}/`;
    say(`
Sluice is running at ${base}   (API description: ${base}/openapi.json)
API key (tenant "demo"):  ${key}
${notBuilt ? `Dashboard: not built (${notBuilt});
  npm run build:web builds it, then open ${site} (no restart needed)` : `Dashboard: ${site} — sign in with the API key above`}
Webhook receiver:         ${hookUrl}   (deliveries are shown below)
Results:
  curl -H "Authorization: Bearer ${key}" ${jobs.penguins.results}
  curl -H "Authorization: Bearer ${key}" "${jobs.cars.results}?format=ndjson"
The README's "Use it" commands run from another terminal in ${ROOT}, after: . ${rel}/env.sh

Ctrl-C stops the api, the worker, the receiver${services.started.length ? ' and the throwaway Postgres and Redis' : ''}.`);
    showDeliveries = true;
  }
} catch (err) {
  console.error(`demo failed: ${(err as Error).message}`);
  if (err instanceof ServiceUnavailableError) console.error('(Postgres and Redis addresses come from DATABASE_URL and REDIS_URL.)');
  await stopAll();
  process.exit(1);
}
