import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKey } from '../../src/auth/tenants.js';
import { trainDemoModels } from '../../scripts/train/demoModels.js';
import { client } from '../helpers/api.js';
import { createTestEnv, type TestEnv } from '../helpers/env.js';
import { killAll, startApi, startWorker, type Proc } from '../helpers/processes.js';
import { assertWebBuilt, expectAccessible, expectClean, launchChromium, signIn, watchedPage, type Watched } from './helpers/browser.js';

// What the dashboard must never do, in a real Chromium against real api and worker processes:
//  - run markup that users or models put in their values: <img onerror> and <script> payloads in a
//    model's description, column names, a passthrough column and its values, class labels, a CSV
//    cell whose error message repeats it, a key's name and a webhook's description are shown as
//    text on every page that shows them; no dialog opens, no script runs, the console stays clean
//    (a refused inline handler would be logged there), and every page is served with the CSP;
//  - offer a key controls its scopes do not allow: a read-only key (jobs:read, models:read) sees
//    no upload, cancel, retry, redeliver, alias switch, canary, rollback or registration, and the
//    pages it may not use are not offered.

const IMG = '<img src=x onerror=alert(1)>';
const SCRIPT = '<script>alert(2)</script>';
const SVG = '<svg onload=alert(3)>';
const CELL = '<img src=x onerror=alert(4)>';
const BAD = '<script>alert(5)</script>';
const DESCRIPTION = `${IMG} and ${SCRIPT} in a description`;

let env: TestEnv;
let api: Proc & { url: string };
let adminKey: string;
let readKey: string;
let c: ReturnType<typeof client>;
let browser: Browser;
let jobId: string;
const demo = trainDemoModels();

beforeAll(async () => {
  assertWebBuilt();
  env = await createTestEnv();
  [api] = await Promise.all([startApi(env.env), startWorker(env.env)]);
  adminKey = (await createKey(env.pool, 'acme')).key;
  readKey = (await createKey(env.pool, 'acme', ['jobs:read', 'models:read'], { name: `reader ${IMG}` })).key;
  c = client(api.url, adminKey);
  // The penguins model under hostile names: its four inputs fed from columns named with payloads,
  // its classes renamed, a passthrough column named with one, a description holding two.
  const signature = { ...demo.penguins.signature, columns: ['Beak Length (mm)', IMG, SCRIPT, 'Body Mass (g)'], labels: [IMG, SCRIPT, 'Gentoo'], passthrough: [SVG] };
  const form = new FormData();
  form.set('signature', JSON.stringify(signature));
  form.set('description', DESCRIPTION);
  form.set('model', new Blob([Buffer.from(demo.penguins.onnx)]), 'xss.onnx');
  const reg = await fetch(`${api.url}/v1/models/xss/versions`, { method: 'POST', body: form, headers: { authorization: `Bearer ${adminKey}` } });
  expect(reg.status, await reg.clone().text()).toBe(201);
  expect((await c.put('/v1/models/xss/aliases/production', { version: 1 })).status).toBe(200);
  // A webhook endpoint that refuses connections: the job gets a delivery to list (and redeliver).
  expect((await c.postJson('/v1/webhooks', { url: 'http://127.0.0.1:9/hook', events: ['job.completed'], description: DESCRIPTION })).status).toBe(201);
  // Three rows: passthrough values holding payloads, one row whose cell makes a CSV error message.
  const csv = [`Beak Length (mm),${IMG},${SCRIPT},Body Mass (g),${SVG}`, `39.1,18.7,181,3750,${CELL}`, `46.5,${BAD},200,4200,second`, `50.0,15.2,222,5500,${IMG}`].join('\n') + '\n';
  const res = await c.postCsv('/v1/jobs?model=xss@production', csv);
  expect(res.status, await res.clone().text()).toBe(202);
  jobId = (await res.json()).id;
  const job = await c.waitForJob(jobId);
  expect(job.rows).toMatchObject({ succeeded: 2, failed: 1 });
  // The payloads really are in what the API sends the page.
  const results = await (await c.get(`/v1/jobs/${jobId}/results?format=json`)).text();
  for (const p of [CELL, BAD]) expect(results).toContain(JSON.stringify(p).slice(1, -1));
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await killAll();
  await env?.close();
});

/** Nothing injected: no element a payload would have made, no handler attribute, no inline script. */
async function expectNoInjectedMarkup(page: Page) {
  const found = await page.evaluate(() => ({
    imgs: document.querySelectorAll('img[src="x"]').length,
    svgs: document.querySelectorAll('svg[onload]').length,
    handlers: [...document.querySelectorAll('*')].filter((e) => [...e.attributes].some((a) => a.name.startsWith('on'))).length,
    inlineScripts: [...document.querySelectorAll('script')].filter((s) => !s.src).length,
  }));
  expect(found).toEqual({ imgs: 0, svgs: 0, handlers: 0, inlineScripts: 0 });
}

/** Every full page load so far came with the strict Content-Security-Policy. */
function expectCspOnEveryDocument(w: Watched) {
  expect(w.documents.length).toBeGreaterThan(0);
  for (const d of w.documents) {
    expect(d.csp, d.url).toBeTruthy();
    expect(d.csp!, d.url).toContain("script-src 'self'");
    expect(d.csp!, d.url).toContain("style-src 'self'");
    expect(d.csp!, d.url).not.toContain('unsafe-inline');
  }
}

const buttons = (p: Page) => p.getByRole('button').allTextContents().then((t) => t.map((s) => s.trim()));
const navLinks = (p: Page) => p.getByRole('navigation', { name: 'Main' }).getByRole('link').allTextContents();

describe('values from users and models are text, never markup', () => {
  let context: BrowserContext;
  let w: Watched;

  beforeAll(async () => {
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    w = await watchedPage(context);
    await signIn(w.page, api.url, adminKey);
  });
  afterAll(() => context?.close());

  async function visit(path: string, ready: string, shown: string[]) {
    const page = w.page;
    await page.goto(api.url + path);
    await page.locator(ready).first().waitFor();
    const text = (await page.locator('main').textContent()) ?? '';
    for (const s of shown) expect(text, `${path} shows ${s} as text`).toContain(s);
    await expectNoInjectedMarkup(page);
    await expectAccessible(page, path);
    expectClean(w);
  }

  it('the job page: passthrough column and values, class labels, the CSV error message and the error summary', async () => {
    await visit(`/jobs/${jobId}`, 'table.results tbody tr', [SVG, CELL, IMG, BAD]);
    // The row error repeats the bad cell, in the summary and in the failed row of the preview.
    expect(await w.page.locator('.error-cell').allTextContents()).toContainEqual(expect.stringContaining(BAD));
    expect(await w.page.locator('th').allTextContents()).toEqual(expect.arrayContaining([SVG, `P(${IMG})`, `P(${SCRIPT})`]));
  });

  it('the jobs list, the model list and the model card: description, column names, labels, signature', async () => {
    await visit('/jobs', '.jobs-table tbody tr', ['xss:1']);
    await visit('/models', 'table tbody tr', ['xss']);
    await visit('/models/xss', '#alias-production', [DESCRIPTION, IMG, SCRIPT, SVG]);
    await w.page.getByText('Signature', { exact: true }).click();
    await expectNoInjectedMarkup(w.page);
  });

  it('New job and Try it: column names as field labels and chips, labels as probability bars, a hostile header checked', async () => {
    await visit('/jobs/new', '#model', []);
    const page = w.page;
    await page.getByLabel('Model', { exact: true }).selectOption('xss:1');
    await page.getByText('Columns the model needs').waitFor();
    await page.getByLabel('CSV file').setInputFiles({ name: 'h.csv', mimeType: 'text/csv', buffer: Buffer.from(`Beak Length (mm),${IMG},Body Mass (g),${BAD}\n1,2,3,4\n`) });
    await page.getByText('Missing columns:').waitFor();
    const check = (await page.locator('[role=status]').filter({ hasText: 'Missing columns' }).textContent()) ?? '';
    expect(check).toContain(SCRIPT); // missing
    expect(check).toContain(BAD); // extra, ignored
    await expectNoInjectedMarkup(page);
    expectClean(w);

    await visit('/try?model=xss:1', 'fieldset', [IMG, SCRIPT, SVG]);
    await page.getByLabel('Beak Length (mm)', { exact: true }).fill('39.1');
    await page.getByLabel(IMG, { exact: true }).fill('18.7');
    await page.getByLabel(SCRIPT, { exact: true }).fill('181');
    await page.getByLabel('Body Mass (g)', { exact: true }).fill('3750');
    await page.getByLabel(SVG, { exact: true }).fill(CELL);
    await page.getByRole('button', { name: 'Predict' }).click();
    await page.locator('.bars meter').first().waitFor();
    expect(await page.locator('.bars li span.break').allTextContents()).toEqual(expect.arrayContaining([IMG, SCRIPT]));
    await expectNoInjectedMarkup(page);
    await expectAccessible(page, 'try it answer');
    expectClean(w);
  });

  it("a key's name, a webhook's description, the audit log; and the CSP on every page served", async () => {
    await visit('/keys', 'table tbody tr', [`reader ${IMG}`]);
    await visit('/webhooks', 'table tbody tr', [DESCRIPTION]);
    await visit('/audit', 'table tbody tr', []);
    expect(new Set(w.documents.map((d) => new URL(d.url).pathname)).size).toBeGreaterThanOrEqual(9);
    expectCspOnEveryDocument(w);
    expect(w.dialogs).toEqual([]);
  });
});

describe('a read-only key (jobs:read, models:read)', () => {
  let context: BrowserContext;
  let reader: Watched;
  let admin: Watched;

  beforeAll(async () => {
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    reader = await watchedPage(context);
    await signIn(reader.page, api.url, readKey);
    // The same pages for a key with every scope, in a browser of its own: the controls are there.
    const other = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    admin = await watchedPage(other);
    await signIn(admin.page, api.url, adminKey);
  });
  afterAll(async () => {
    await context?.close();
    await admin?.page.context().close();
  });

  it('is offered only the pages it may use', async () => {
    await reader.page.goto(api.url + '/jobs');
    await reader.page.locator('.jobs-table tbody tr').first().waitFor();
    expect(await navLinks(reader.page)).toEqual(['Sluice', 'Jobs', 'Models']);
    expect(await reader.page.getByRole('link', { name: 'New job' }).count()).toBe(0);
    for (const path of ['/jobs/new', '/try', '/webhooks', '/keys', '/audit']) {
      await reader.page.goto(api.url + path);
      await reader.page.waitForURL((u) => u.pathname === '/jobs');
    }
    await expectAccessible(reader.page, 'jobs (read-only)');
    expectClean(reader);
  });

  it('sees no cancel, retry or redeliver on a job, no alias switch, canary, rollback, alias or registration on a model', async () => {
    const deliveries = await (await c.get(`/v1/jobs/${jobId}/deliveries`)).json();
    expect(deliveries.data.length).toBeGreaterThan(0);
    for (const w of [admin, reader]) {
      await w.page.goto(`${api.url}/jobs/${jobId}`);
      await w.page.locator('.deliveries li').first().waitFor();
    }
    expect(await buttons(admin.page)).toEqual(expect.arrayContaining(['Retry failed rows', 'Redeliver']));
    expect(await buttons(reader.page)).toEqual(['Sign out']);
    await expectAccessible(reader.page, 'job (read-only)');

    for (const w of [admin, reader]) {
      await w.page.goto(`${api.url}/models/xss`);
      await w.page.locator('#alias-production').waitFor();
    }
    expect(await buttons(admin.page)).toEqual(expect.arrayContaining(['Switch production…', 'Apply canary', 'Roll back production', 'Set alias', 'Register version']));
    expect(await buttons(reader.page)).toEqual(['Sign out', 'Show the whole history of production']);
    expect(await reader.page.locator('main input, main select, main textarea').count()).toBe(0);
    expect(await reader.page.getByRole('heading', { name: 'Register a new version' }).count()).toBe(0);
    await expectAccessible(reader.page, 'model (read-only)');

    await reader.page.goto(`${api.url}/models`);
    await reader.page.locator('table tbody tr').first().waitFor();
    expect(await reader.page.getByRole('heading', { name: 'Register a model' }).count()).toBe(0);
    expectClean(reader);
    expectClean(admin);
    expectCspOnEveryDocument(reader);
  });
});
