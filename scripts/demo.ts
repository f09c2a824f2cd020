import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { createKey } from '../src/auth/tenants.js';
import { loadConfig } from '../src/config.js';
import { createPool } from '../src/db/pool.js';
import { trainDemoModels } from './train/demoModels.js';

// npm run demo [-- --exit]: migrate, start an api and a worker, train and register the two demo
// models, score their held-out rows as CSV jobs, check the served predictions against the
// training metrics, and leave Sluice running (or stop, with --exit).
const ROOT = path.resolve(import.meta.dirname, '..');
const exitAfter = process.argv.includes('--exit');
const config = loadConfig(process.env);
const base = `http://127.0.0.1:${config.port}`;
const children: ChildProcess[] = [];
const say = (s: string) => console.log(s);

function run(script: string, waitReady: boolean): Promise<ChildProcess> {
  // One node process per script (no tsx CLI relay in between). The api and the worker say they are
  // ready by a message on their IPC channel (src/lifecycle.ts); their output is not shown.
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, script)], { cwd: ROOT, env: { ...process.env, LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
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

async function stopAll() {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  await Promise.all(children.filter((c) => c.exitCode === null).map((c) => once(c, 'exit')));
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => void stopAll().then(() => process.exit(0)));

try {
  say('1/6 migrating the database');
  await run('scripts/migrate.ts', false);
  const pool = createPool(config, 2);
  const { key } = await createKey(pool, 'demo');
  await pool.end();
  say('2/6 starting the api and a worker');
  await run('src/server.ts', true);
  await run('workers/predict.ts', true);
  const auth = { authorization: `Bearer ${key}` };

  say('3/6 training the demo models (batch gradient descent, deterministic)');
  const demo = trainDemoModels();
  for (const m of [demo.cars, demo.penguins]) {
    const form = new FormData();
    form.set('signature', JSON.stringify(m.signature));
    form.set('metrics', JSON.stringify(m.metrics));
    form.set('model', new Blob([Buffer.from(m.onnx)]), `${m.name}.onnx`);
    const res = await fetch(`${base}/v1/models/${m.name}/versions`, { method: 'POST', body: form, headers: auth });
    if (res.status !== 201) throw new Error(`registering ${m.name}: ${res.status} ${await res.text()}`);
    const v = await res.json();
    await fetch(`${base}/v1/models/${m.name}/aliases/production`, { method: 'PUT', body: JSON.stringify({ version: v.version }), headers: { ...auth, 'content-type': 'application/json' } });
    say(`    registered ${m.name} v${v.version} (alias production)`);
  }

  say('4/6 scoring the held-out rows as CSV jobs');
  const jobs: Record<string, { id: string; results: string }> = {};
  for (const m of [demo.cars, demo.penguins]) {
    const res = await fetch(`${base}/v1/jobs?model=${m.name}@production`, { method: 'POST', body: m.holdoutCsv, headers: { ...auth, 'content-type': 'text/csv' } });
    if (res.status !== 202) throw new Error(`submitting ${m.name}: ${res.status} ${await res.text()}`);
    const job = await res.json();
    let j = job;
    while (!['completed', 'failed', 'cancelled'].includes(j.status)) j = await (await fetch(`${base}/v1/jobs/${job.id}?wait=10`, { headers: auth })).json();
    if (j.status !== 'completed') throw new Error(`${m.name} job ended ${j.status}: ${JSON.stringify(j.error)}`);
    jobs[m.name] = { id: job.id, results: `${base}/v1/jobs/${job.id}/results` };
    say(`    ${m.name}: ${j.rows.succeeded} rows scored, ${j.rows.failed} failed, in ${j.duration_ms} ms`);
  }

  say('5/6 checking served predictions against the held-out truth');
  const read = async (name: string) => (await (await fetch(`${jobs[name].results}?format=json&limit=10000`, { headers: auth })).json()).data as { row: number; prediction: unknown }[];
  const cars = await read('cars');
  const sq = cars.map((r, i) => (Number(r.prediction) - Number(demo.cars.holdout[i].Miles_per_Gallon)) ** 2);
  const rmse = Math.sqrt(sq.reduce((a, b) => a + b, 0) / sq.length);
  const peng = await read('penguins');
  const acc = peng.filter((r, i) => r.prediction === demo.penguins.holdout[i].Species).length / peng.length;
  say(`    cars (linear regression, mpg): RMSE ${rmse.toFixed(3)} served vs ${demo.cars.metrics.rmse.toFixed(3)} at training; R² ${demo.cars.metrics.r2.toFixed(3)}`);
  say(`    penguins (softmax regression, species): accuracy ${(acc * 100).toFixed(1)} % served vs ${(demo.penguins.metrics.accuracy * 100).toFixed(1)} % at training`);
  for (const [label, m] of Object.entries(demo.penguins.metrics.perClass)) say(`      ${label.padEnd(10)} precision ${m.precision.toFixed(3)}  recall ${m.recall.toFixed(3)}  F1 ${m.f1.toFixed(3)}`);

  say('6/6 one prediction, waiting for the answer');
  const one = demo.penguins.holdout[0];
  const single = await (await fetch(`${base}/v1/predictions`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'penguins@production', inputs: [one], wait: 5 }) })).json();
  say(`    ${JSON.stringify(single.predictions?.[0])}`);

  say(`
Sluice is running at ${base}   (API description: ${base}/openapi.json)
API key (tenant "demo"):  ${key}
Results:
  curl -H "Authorization: Bearer ${key}" ${jobs.penguins.results}
  curl -H "Authorization: Bearer ${key}" "${jobs.cars.results}?format=ndjson"`);
  if (exitAfter) await stopAll();
  else say('\nCtrl-C stops the api and the worker.');
} catch (err) {
  console.error(`demo failed: ${(err as Error).message}`);
  await stopAll();
  process.exit(1);
}
