import { mkdirSync } from 'node:fs';
import path from 'node:path';
import axe from 'axe-core';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { expect, inject } from 'vitest';

// Browser tests drive Debian's Chromium (/usr/bin/chromium, installed by .ci/run) with
// playwright-core against real api and worker processes. Each page opened here records what must
// never happen: a dialog (alert/confirm/prompt), a console error, an uncaught page error, a
// document answered without the Content-Security-Policy.

export const ROOT = path.resolve(import.meta.dirname, '../../..');
export const SCREENSHOTS = path.join(ROOT, 'docs/dashboard');
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Fails with the build's own message when the dashboard could not be built (test/web/globalSetup.ts). */
export function assertWebBuilt(): void {
  const { error } = inject('webBuild');
  if (error) throw new Error(`The dashboard could not be built (npm run build:web): ${error}`);
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
}

export interface Watched {
  page: Page;
  dialogs: string[];
  consoleErrors: string[];
  pageErrors: string[];
  /** Every document response: its URL and its Content-Security-Policy header. */
  documents: { url: string; csp: string | null }[];
}

export async function watchedPage(context: BrowserContext): Promise<Watched> {
  const page = await context.newPage();
  const w: Watched = { page, dialogs: [], consoleErrors: [], pageErrors: [], documents: [] };
  page.on('dialog', (d) => {
    w.dialogs.push(`${d.type()}: ${d.message()}`);
    void d.dismiss().catch(() => {});
  });
  page.on('console', (m) => {
    // The one error a browser logs by design: "am I signed in?" (GET /v1/sessions/current) answers
    // 401 before sign-in and after sign-out, and Chromium logs every 4xx resource as an error.
    if (m.type() === 'error' && !(m.text().includes('401') && m.location().url.endsWith('/v1/sessions/current'))) w.consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => w.pageErrors.push(e.message));
  page.on('response', (r) => {
    if (r.request().resourceType() === 'document') w.documents.push({ url: r.url(), csp: r.headers()['content-security-policy'] ?? null });
  });
  return w;
}

/** Nothing that must not happen happened on this page so far. */
export function expectClean(w: Watched): void {
  expect(w.dialogs, 'dialogs opened').toEqual([]);
  expect(w.pageErrors, 'uncaught page errors').toEqual([]);
  expect(w.consoleErrors, 'console errors').toEqual([]);
}

/** Serious and critical axe-core violations of the page as it is now (none expected). */
export async function axeViolations(page: Page): Promise<string[]> {
  // Evaluated through the DevTools protocol, which the page's CSP does not govern (an injected
  // <script> would be refused, as it should be).
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(axe.source);
  const found = await page.evaluate(async () => {
    const w = window as unknown as { axe: typeof axe };
    const r = await w.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) }));
  });
  return found.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.join('; ')})`);
}

export async function expectAccessible(page: Page, where: string): Promise<void> {
  expect(await axeViolations(page), `axe-core on ${where}`).toEqual([]);
}

/** A full-page screenshot into docs/dashboard/<name>.png (shown in the README). */
export async function screenshot(page: Page, name: string, opts: { fullPage?: boolean } = {}): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: opts.fullPage ?? true, animations: 'disabled' });
}

/** The page does not scroll sideways at its current width (the phone layout fits 390 px). */
export async function expectNoSidewaysScroll(page: Page): Promise<void> {
  const { scroll, width } = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, width: window.innerWidth }));
  expect(scroll, 'page wider than the viewport').toBeLessThanOrEqual(width);
}

export async function signIn(page: Page, base: string, key: string): Promise<void> {
  await page.goto(`${base}/sign-in`);
  await page.getByLabel('API key').fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((u) => !u.pathname.startsWith('/sign-in'));
}

/** Waits until `locator`'s text equals `text` (a live update, no reload). */
export async function waitForText(page: Page, selector: string, text: string, timeout = 60_000): Promise<void> {
  await page.waitForFunction(([s, t]) => document.querySelector(s)?.textContent?.trim() === t, [selector, text] as const, { timeout });
}
