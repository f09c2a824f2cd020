import { readFileSync } from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKey } from '../../src/auth/tenants.js';
import { trainDemoModels, trainPenguinsBeakOnly } from '../../scripts/train/demoModels.js';
import { client } from '../helpers/api.js';
import { createTestEnv, type TestEnv } from '../helpers/env.js';
import { killAll, startApi, startWorker, type Proc } from '../helpers/processes.js';
import { assertWebBuilt, expectAccessible, expectClean, expectNoSidewaysScroll, launchChromium, screenshot, waitForText, watchedPage, type Watched } from './helpers/browser.js';

// The dashboard in a real headless Chromium against real api and worker processes: sign in with
// the keyboard, upload a CSV through the page and watch its job reach "completed" without a
// reload (on the job's page and on the jobs list), preview and download the results (the files
// equal the API's), read the evaluation and its confusion matrix, switch an alias with its
// confirmation, roll it back, set a canary, score one row in Try it, and visit the admin pages.
// Every page is checked by axe-core (no serious or critical violation) and photographed into
// docs/dashboard/ for the README.

let env: TestEnv;
let api: Proc & { url: string };
let worker: Proc;
let key: string;
let c: ReturnType<typeof client>;
let browser: Browser;
let context: BrowserContext;
let w: Watched;
let page: Page;
const demo = trainDemoModels();
const beak = trainPenguinsBeakOnly();
const FEATURES = demo.penguins.signature.columns!;
let uploadedJob = '';

beforeAll(async () => {
  assertWebBuilt();
  env = await createTestEnv();
  [api, worker] = await Promise.all([startApi(env.env), startWorker(env.env)]);
  key = (await createKey(env.pool, 'lab')).key;
  c = client(api.url, key);
  expect((await c.registerModel('penguins', demo.penguins.onnx, demo.penguins.signature)).status).toBe(201);
  expect((await c.registerModel('penguins', beak.onnx, beak.signature)).status).toBe(201);
  expect((await c.put('/v1/models/penguins/aliases/production', { version: 1 })).status).toBe(200);
  // Both versions evaluated on the held-out rows and recorded: the switch's confirmation shows them.
  for (const v of [1, 2]) {
    const res = await c.postCsv(`/v1/jobs?model=penguins:${v}&label_column=Species&record=true`, demo.penguins.holdoutCsv);
    expect(res.status).toBe(202);
    expect((await c.waitForJob((await res.json()).id)).status).toBe('completed');
  }
  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
  w = await watchedPage(context);
  page = w.page;
}, 120_000);

/** A link of the main menu (a page may have its own link of the same name). */
const nav = (p: Page, name: string) => p.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true }).click();

afterAll(async () => {
  await browser?.close();
  await killAll();
  await env?.close();
});

describe('the dashboard, signed in with a key holding every scope', () => {
  it('signs in with the keyboard: the key becomes an HttpOnly SameSite=Strict cookie and is kept nowhere else', async () => {
    await page.goto(api.url + '/');
    await page.waitForURL(/\/sign-in/);
    await page.getByLabel('API key').waitFor();
    await expectAccessible(page, 'sign-in');
    await screenshot(page, 'sign-in');
    // Tab past the skip link to the field, type, Enter.
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('api-key');
    await page.keyboard.type(key);
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/jobs$/);
    await page.getByRole('heading', { name: 'Jobs' }).waitFor();

    const cookies = await context.cookies(api.url);
    const session = cookies.find((k) => k.name === 'sluice_session');
    expect(session?.httpOnly).toBe(true);
    expect(session?.sameSite).toBe('Strict');
    const seen = await page.evaluate(() => ({ local: localStorage.length, session: sessionStorage.length, cookie: document.cookie, html: document.documentElement.outerHTML }));
    expect(seen.local).toBe(0);
    expect(seen.session).toBe(0);
    expect(seen.cookie).toBe(''); // HttpOnly: no script reads it
    expect(seen.html).not.toContain(key);
    expect(w.documents.every((d) => !d.url.includes(key))).toBe(true);
    expectClean(w);
  });

  it('lists jobs with status, model, rows, progress and age', async () => {
    await page.locator('.jobs-table tbody tr').nth(1).waitFor();
    expect(await page.locator('.jobs-table tbody tr').count()).toBe(2);
    expect(await page.locator('.jobs-table .badge').allTextContents()).toEqual(['completed', 'completed']);
    await expectAccessible(page, 'jobs');
    expectClean(w);
  });

  it('uploads a CSV through the page, checking its header first, and watches the job reach "completed" without reloading', async () => {
    // The jobs list in a second tab, open before the upload: the new job must appear there live too.
    const list = await watchedPage(context);
    await list.page.goto(api.url + '/jobs');
    await list.page.getByText('Live', { exact: true }).waitFor();

    // No worker while the page opens the job: it is seen queued, then completed when a worker comes.
    await worker.stop();
    await page.getByRole('link', { name: 'New job' }).first().click();
    await page.getByRole('heading', { name: 'New job' }).waitFor();
    await page.getByLabel('Model', { exact: true }).selectOption('penguins@production');
    await page.getByText('Columns the model needs').waitFor();

    // A file without "Body Mass (g)": named before anything is sent, and Upload is not offered.
    const lacking = demo.penguins.holdoutCsv.split('\n').map((l) => l.split(',').slice(0, 4).join(',')).join('\n');
    await page.getByLabel('CSV file').setInputFiles({ name: 'lacking.csv', mimeType: 'text/csv', buffer: Buffer.from(lacking) });
    await page.getByText('Missing columns: Body Mass (g)').waitFor();
    expect(await page.getByRole('button', { name: 'Upload' }).isDisabled()).toBe(true);

    await page.getByLabel('CSV file').setInputFiles({ name: 'penguins.csv', mimeType: 'text/csv', buffer: Buffer.from(demo.penguins.holdoutCsv) });
    await page.getByText("The file's header has every column the model needs.").waitFor();
    await page.getByText('Extra columns, ignored: Species').waitFor();
    await page.getByLabel('Label column (evaluation)').fill('Species');
    await page.waitForFunction(() => !document.body.textContent?.includes('Extra columns, ignored'));
    await expectAccessible(page, 'new job');
    await screenshot(page, 'new-job');

    await page.getByRole('button', { name: 'Upload' }).click();
    await page.waitForURL(/\/jobs\/[0-9a-f-]{36}$/);
    uploadedJob = new URL(page.url()).pathname.split('/').pop()!;
    await waitForText(page, 'h1 .badge', 'queued');
    await page.evaluate(() => ((window as unknown as { sameDocument: boolean }).sameDocument = true));
    const loads = w.documents.length;

    worker = await startWorker(env.env);
    await waitForText(page, 'h1 .badge', 'completed');
    expect(await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument)).toBe(true);
    expect(w.documents.length).toBe(loads);
    // The list tab saw the job arrive and finish, without a reload either.
    await list.page.waitForFunction((id) => {
      const row = [...document.querySelectorAll('.jobs-table tbody tr')].find((r) => r.querySelector('a')?.textContent === id.slice(0, 8));
      return row?.querySelector('.badge')?.textContent === 'completed';
    }, uploadedJob, { timeout: 30_000 });
    expect(list.documents.length).toBe(1);
    expectClean(list);
    await list.page.close();
    expectClean(w);
  });

  it('shows the job: counters, a preview of the results, downloads equal to the API\'s files, the evaluation and its confusion matrix', async () => {
    const job = await (await c.get(`/v1/jobs/${uploadedJob}`)).json();
    expect(job.rows.succeeded).toBe(demo.penguins.holdout.length);
    await page.locator('table.results tbody tr').first().waitFor();
    const preview = await page.locator('table.results tbody tr').count();
    expect(preview).toBe(Math.min(20, demo.penguins.holdout.length));
    const first = (await (await c.get(`/v1/jobs/${uploadedJob}/results?format=json&limit=1`)).json()).data[0];
    const cells = await page.locator('table.results tbody tr').first().locator('td').allTextContents();
    expect(cells[0]).toBe('1');
    expect(cells[1]).toBe(first.passthrough.id);
    expect(cells[2]).toBe(first.prediction);

    for (const [name, format] of [['Download CSV', 'csv'], ['Download NDJSON', 'ndjson']] as const) {
      const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name }).click()]);
      const got = readFileSync((await download.path())!, 'utf8');
      const want = await (await c.get(`/v1/jobs/${uploadedJob}/results?format=${format}`)).text();
      expect(got.length).toBeGreaterThan(100);
      expect(got).toBe(want);
    }

    await page.getByRole('heading', { name: /^Evaluation/ }).waitFor();
    const matrix = job.evaluation.confusion_matrix;
    const heat = await page.locator('table.heatmap tbody td').allTextContents();
    expect(heat.map(Number)).toEqual(matrix.counts.flat());
    expect(await page.locator('table.heatmap thead th').allTextContents()).toEqual([expect.any(String), ...matrix.labels]);
    // Shaded by share of the row, with classes (no inline style): the diagonal is the darkest here.
    expect(await page.locator('table.heatmap td.heat-9').count()).toBeGreaterThan(0);
    expect(await page.locator('table.heatmap [style]').count()).toBe(0);
    await expectAccessible(page, 'job');
    await screenshot(page, 'job');
    expectClean(w);
  });

  it('switches an alias after a confirmation showing both evaluations, rolls it back, and sets a canary', async () => {
    await nav(page, 'Models');
    await page.getByRole('link', { name: 'penguins' }).waitFor();
    await expectAccessible(page, 'models');
    await screenshot(page, 'models');
    await page.getByRole('link', { name: 'penguins' }).click();
    const heading = page.locator('#alias-production');
    await waitForText(page, '#alias-production', 'production → v1');
    await expectAccessible(page, 'model');
    await screenshot(page, 'model');

    await page.getByLabel('Switch production to version').selectOption('2');
    await page.getByRole('button', { name: 'Switch production…' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    await dialog.getByText('Now: v1, latest evaluation').waitFor();
    await dialog.getByText('New: v2, latest evaluation').waitFor();
    const figures = await dialog.locator('.figures').allTextContents();
    expect(figures).toHaveLength(2);
    expect(figures[0]).not.toBe(figures[1]);
    await expectAccessible(page, 'alias switch confirmation');
    await screenshot(page, 'alias-switch', { fullPage: false });
    await dialog.getByRole('button', { name: 'Switch production to v2' }).click();
    await waitForText(page, '#alias-production', 'production → v2');
    expect((await (await c.get('/v1/models/penguins')).json()).aliases.production).toBe(2);

    await page.getByRole('button', { name: 'Roll back production' }).click();
    await waitForText(page, '#alias-production', 'production → v1');
    const history = (await (await c.get('/v1/models/penguins/aliases/production/history')).json()).data;
    expect(history.map((h: { action: string }) => h.action)).toEqual(['rollback', 'set', 'set']);
    expect(await heading.locator('xpath=ancestor::article').locator('table tbody tr').count()).toBe(3);

    // A canary: 30 % of single predictions to v2.
    await page.getByLabel('Canary version').selectOption('2');
    await page.getByLabel('Canary share of production').fill('30');
    await page.getByRole('button', { name: 'Apply canary' }).click();
    await page.getByText('v2: 30 %').waitFor();
    const alias = (await (await c.get('/v1/models/penguins')).json()).alias_details[0];
    expect(alias.versions).toEqual([{ version: 1, weight: 70 }, { version: 2, weight: 30 }]);
    await page.getByRole('button', { name: 'Roll back production' }).click();
    await page.waitForFunction(() => !document.body.textContent?.includes('v2: 30 %'));
    expectClean(w);
  });

  it('scores one row in Try it: a typed field per column, the answer with a bar per class', async () => {
    await nav(page, 'Try it');
    await page.getByLabel('Model', { exact: true }).selectOption('penguins:1');
    const row = demo.penguins.holdout[0];
    for (const f of FEATURES) await page.getByLabel(f, { exact: true }).fill(String(row[f]));
    await page.getByRole('button', { name: 'Predict' }).click();
    await page.getByText('Answer from penguins:1').waitFor();
    const want = await (await c.postJson('/v1/predictions', { model: 'penguins:1', wait: 10, inputs: [Object.fromEntries(FEATURES.map((f) => [f, Number(row[f])]))] })).json();
    expect(await page.locator('.prediction strong').textContent()).toBe(want.predictions[0].prediction);
    expect(await page.locator('.bars meter').count()).toBe(demo.penguins.signature.labels!.length);
    await expectAccessible(page, 'try it');
    await screenshot(page, 'try-it');
    expectClean(w);
  });

  it('manages webhooks, keys and the audit log (admin)', async () => {
    await nav(page, 'Webhooks');
    await page.getByLabel('Endpoint URL').fill('https://hooks.example.com/sluice');
    await page.getByRole('button', { name: 'Add endpoint' }).click();
    await page.getByText('shown this once').waitFor();
    expect(await page.locator('.secret .mono').last().textContent()).toMatch(/^whsec_/);
    await expectAccessible(page, 'webhooks');
    await screenshot(page, 'webhooks');

    await nav(page, 'API keys');
    await page.getByLabel('Name').fill('read-only');
    await page.getByRole('button', { name: 'Create key' }).click();
    await page.getByText('The new key, shown this once').waitFor();
    expect(await page.locator('.secret .mono').textContent()).toMatch(/^sluice_sk_/);
    await page.getByRole('button', { name: 'I have copied it' }).click();
    await expectAccessible(page, 'keys');
    await screenshot(page, 'keys');

    await nav(page, 'Audit log');
    await page.getByText('key.created').first().waitFor();
    await expectAccessible(page, 'audit');
    await screenshot(page, 'audit');
    expectClean(w);
  });

  it('fits a 390-pixel phone: no sideways scrolling, the menu folds behind a button', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    for (const [path, name, ready] of [
      ['/jobs', 'jobs-phone', '.jobs-table tbody tr'],
      [`/jobs/${uploadedJob}`, 'job-phone', 'table.results tbody tr'],
      ['/models/penguins', 'model-phone', '#alias-production'],
    ] as const) {
      await page.goto(api.url + path);
      await page.locator(ready).first().waitFor();
      await expectNoSidewaysScroll(page);
      await expectAccessible(page, `${path} at 390 px`);
      await screenshot(page, name);
    }
    expect(await page.getByRole('link', { name: 'Models' }).isVisible()).toBe(false);
    await page.getByRole('button', { name: 'Menu' }).click();
    await nav(page, 'Models');
    await page.waitForURL(/\/models$/);
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.goto(api.url + '/jobs');
    await page.locator('.jobs-table tbody tr').first().waitFor();
    await screenshot(page, 'jobs');
    expectClean(w);
  });

  it('signs out: the session ends and the pages ask for a key again', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/sign-in/);
    await page.goto(api.url + '/models');
    await page.waitForURL(/\/sign-in\?next=/);
    expect((await context.cookies(api.url)).find((k) => k.name === 'sluice_session')).toBeUndefined();
    expectClean(w);
  });
});
