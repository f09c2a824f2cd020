// npm run bench:web — the dashboard's size and speed, measured on this machine (issue 16's goals:
// initial JavaScript ≤ 150 kB gzip; the jobs page with 1,000 jobs rendered in under 1 s):
//  - sizes: what index.html loads before anything else (its module script, the chunks it preloads,
//    its stylesheet), gzip-compressed as the api sends them (zlib's default level, as
//    `compression` uses), and the largest lazy chunk;
//  - in Debian's Chromium (playwright-core), against real api and worker processes on a database
//    of its own holding 1,000 jobs: the JavaScript a first visit to /jobs transfers, and the time
//    to show /jobs?limit=1000 — from navigation start to 1,000 rows painted (JS load, the session
//    check, five API pages of 200, rendering) and the rendering alone (data in hand → DOM patched,
//    the performance marks the jobs page sets), the median of BENCH_WEB_REPEATS loads (5).
// Writes docs/benchmarks-web.json and the "Dashboard" section of docs/benchmarks.md (between its
// markers, appended when missing). Measured, not asserted.
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';
import { buildWeb, WEB_DIR, webBuildStale } from '../buildWeb.js';
import { baseEnv, COLUMNS, createBenchDb, createTenant, dropRedisPrefix, median, registerModel, request, ROOT, round, startApi, startWorker } from './common.js';

const JOBS = Number(process.env.BENCH_WEB_JOBS ?? 1000);
const REPEATS = Number(process.env.BENCH_WEB_REPEATS ?? 5);
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const DIST = path.join(WEB_DIR, 'dist');
const log = (...a: unknown[]) => console.error(`[bench:web ${new Date().toISOString().slice(11, 19)}]`, ...a);
const kB = (n: number) => round(n / 1024, 1);

if (webBuildStale()) {
  log('building the dashboard (web/ changed since its last build)…');
  await buildWeb({ quiet: true });
}

// ---------------------------------------------------------------- sizes, from the build

const gz = (file: string) => gzipSync(readFileSync(path.join(DIST, file))).length;
const html = readFileSync(path.join(DIST, 'index.html'), 'utf8');
const initialJs = [...html.matchAll(/<script[^>]+src="\/([^"]+\.js)"/g), ...html.matchAll(/<link[^>]+rel="modulepreload"[^>]+href="\/([^"]+\.js)"/g)].map((m) => m[1]);
const initialCss = [...html.matchAll(/<link[^>]+rel="stylesheet"[^>]+href="\/([^"]+\.css)"/g)].map((m) => m[1]);
const chunks = readdirSync(path.join(DIST, 'assets')).filter((f) => f.endsWith('.js'));
const largestLazy = chunks.filter((f) => !initialJs.includes(`assets/${f}`)).map((f) => ({ file: f, gzip: gz(`assets/${f}`) })).sort((a, b) => b.gzip - a.gzip)[0];
const sizes = {
  initialJsFiles: initialJs,
  initialJsBytes: initialJs.reduce((a, f) => a + statSync(path.join(DIST, f)).size, 0),
  initialJsGzipBytes: initialJs.reduce((a, f) => a + gz(f), 0),
  initialCssGzipBytes: initialCss.reduce((a, f) => a + gz(f), 0),
  chunks: chunks.length,
  allJsGzipBytes: chunks.reduce((a, f) => a + gz(`assets/${f}`), 0),
  largestLazyChunk: largestLazy ? { name: largestLazy.file.replace(/-[\w-]{8}\.js$/, ''), gzipBytes: largestLazy.gzip } : null,
};
log(`initial JS ${kB(sizes.initialJsGzipBytes)} kB gzip (${initialJs.join(', ')}), CSS ${kB(sizes.initialCssGzipBytes)} kB gzip`);

// ---------------------------------------------------------------- the jobs page with 1,000 jobs

const db = await createBenchDb();
const prefix = `sluice-bench-web-${randomBytes(4).toString('hex')}`;
const env = baseEnv(db, prefix);
const procs: { stop(): Promise<void> }[] = [];
const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
const chromiumVersion = browser.version();
let figures: Record<string, unknown> = {};
try {
  const api = await startApi(env);
  procs.push(api);
  procs.push(await startWorker(env));
  const tenant = await createTenant(db.pool, 'bench-web');
  await registerModel(api.url, tenant, 'bench');

  log(`making ${JOBS} jobs (single predictions, 16 at a time)…`);
  const row = Object.fromEntries(COLUMNS.map((c, i) => [c, (i % 7) / 3]));
  let made = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (made < JOBS) {
        made++;
        const r = await request(`${api.url}/v1/predictions`, { method: 'POST', headers: { ...tenant.auth, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'bench', inputs: [row], wait: 5 }) });
        if (r.status !== 200 && r.status !== 202) throw new Error(`prediction refused: ${r.status} ${r.body}`);
      }
    }),
  );

  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  await page.goto(`${api.url}/sign-in`);
  await page.getByLabel('API key').fill(tenant.key);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(/\/jobs$/);
  await page.locator('.jobs-table tbody tr').first().waitFor();
  // A first visit's JavaScript, as transferred (gzip): what the browser fetched to show /jobs.
  const firstVisitJs = await page.evaluate(() =>
    performance.getEntriesByType('resource').filter((e) => e.name.includes('/assets/') && e.name.endsWith('.js')).reduce((a, e) => a + (e as PerformanceResourceTiming).encodedBodySize, 0),
  );

  type Load = { total: number; firstRows: number; rows: number; listFirstRequest: number; listLastResponse: number; listRequests: number; sessionCheck: number };
  const loads: Load[] = [];
  for (let i = 0; i < REPEATS; i++) {
    await page.goto(`${api.url}/jobs?limit=${JOBS}`);
    // Loaded and rendered: every API page of 200 read and the DOM patched after it (the page marks both).
    await page.waitForFunction(
      (n) => {
        const reads = performance.getEntriesByName('sluice:jobs-data').length;
        return reads >= Math.ceil(n / 200) && reads === performance.getEntriesByName('sluice:jobs-rendered').length;
      },
      JOBS,
      { timeout: 60_000, polling: 'raf' },
    );
    loads.push(
      await page.evaluate(
        () =>
          new Promise<Load>((resolve) =>
            // After the next frame: the rows are laid out and painted.
            requestAnimationFrame(() =>
              setTimeout(() => {
                const rendered = performance.getEntriesByName('sluice:jobs-rendered');
                const api = performance.getEntriesByType('resource').filter((e) => e.name.includes('/v1/jobs?')) as PerformanceResourceTiming[];
                const session = performance.getEntriesByType('resource').find((e) => e.name.endsWith('/v1/sessions/current')) as PerformanceResourceTiming | undefined;
                resolve({
                  total: performance.now(),
                  firstRows: rendered[0].startTime,
                  rows: document.querySelectorAll('.jobs-table tbody tr').length,
                  listFirstRequest: api[0]?.startTime ?? 0,
                  listLastResponse: api.at(-1)?.responseEnd ?? 0,
                  listRequests: api.length,
                  sessionCheck: session ? session.responseEnd - session.startTime : 0,
                });
              }),
            ),
          ),
      ),
    );
  }
  log(`jobs page, ${loads[0].rows} jobs: ${loads.map((l) => `${Math.round(l.total)} ms (first rows at ${Math.round(l.firstRows)} ms)`).join(', ')}`);
  figures = {
    limit: JOBS,
    jobs: loads[0].rows,
    repeats: REPEATS,
    firstVisitJsTransferredBytes: firstVisitJs,
    navigationToPaintedMs: round(median(loads.map((l) => l.total))),
    firstRowsMs: round(median(loads.map((l) => l.firstRows))),
    listRequestStartMs: round(median(loads.map((l) => l.listFirstRequest))),
    listReadMs: round(median(loads.map((l) => l.listLastResponse - l.listFirstRequest))),
    sessionCheckMs: round(median(loads.map((l) => l.sessionCheck))),
    runs: loads.map((l) => ({ navigationToPaintedMs: round(l.total), firstRowsMs: round(l.firstRows), listRequests: l.listRequests, listRequestStartMs: round(l.listFirstRequest), listReadMs: round(l.listLastResponse - l.listFirstRequest) })),
  };
  await context.close();
} finally {
  await browser.close();
  for (const p of procs.reverse()) await p.stop().catch(() => {});
  await db.drop().catch(() => {});
  await dropRedisPrefix(prefix).catch(() => {});
}

// ---------------------------------------------------------------- report

const machine = { cores: os.availableParallelism(), cpu: os.cpus()[0]?.model ?? 'unknown', loadAverageAtStart: os.loadavg().map((x) => round(x, 2)), chromium: chromiumVersion, date: new Date().toISOString() };
const results = { machine, sizes, jobsPage: figures };
writeFileSync(path.join(ROOT, 'docs/benchmarks-web.json'), `${JSON.stringify(results, null, 2)}\n`);

const f = figures as { limit: number; jobs: number; repeats: number; firstVisitJsTransferredBytes: number; navigationToPaintedMs: number; firstRowsMs: number; listRequestStartMs: number; listReadMs: number };
const section = `<!-- dashboard:start (written by npm run bench:web) -->
## Dashboard (issue 16)

\`npm run bench:web\`, ${machine.date.slice(0, 10)}, ${machine.cores} cores (${machine.cpu}), Chromium ${machine.chromium}, headless.
Raw figures: [benchmarks-web.json](benchmarks-web.json).

| figure | goal | measured |
|---|---|---|
| initial JavaScript (index.html's module script and preloads), gzip | ≤ 150 kB | **${kB(sizes.initialJsGzipBytes)} kB** (${kB(sizes.initialJsBytes)} kB unzipped) |
| initial CSS, gzip | | ${kB(sizes.initialCssGzipBytes)} kB |
| JavaScript a first visit to /jobs transfers (entry + the jobs page's chunks) | | ${kB(f.firstVisitJsTransferredBytes)} kB |
| all JavaScript of every page (${sizes.chunks} chunks, loaded as visited), gzip | | ${kB(sizes.allJsGzipBytes)} kB; largest lazy chunk ${sizes.largestLazyChunk?.name} ${kB(sizes.largestLazyChunk?.gzipBytes ?? 0)} kB (uPlot, with the first chart) |
| /jobs?limit=${f.limit}: navigation start → ${f.jobs} rows painted (median of ${f.repeats}) | < 1 s | **${f.navigationToPaintedMs} ms** |
| of which: the first list request leaves (the app's JS loaded, the session checked) | | ${f.listRequestStartMs} ms |
| the first 200 rows on screen | | ${f.firstRowsMs} ms |
| reading the list (${Math.ceil(f.limit / 200)} API pages of 200, one after another) | | ${f.listReadMs} ms |

The page reads the list in API pages of 200 (the API's largest) and shows each as it comes, so
rendering overlaps reading; each job is one flat row component, so a live update re-renders one
row; ages tick every 10 s, not every second.
<!-- dashboard:end -->
`;
const mdPath = path.join(ROOT, 'docs/benchmarks.md');
const md = existsSync(mdPath) ? readFileSync(mdPath, 'utf8') : '# Benchmarks\n';
const marked = /<!-- dashboard:start[\s\S]*?<!-- dashboard:end -->\n?/;
writeFileSync(mdPath, marked.test(md) ? md.replace(marked, section) : `${md.trimEnd()}\n\n${section}`);
console.log(JSON.stringify(results, null, 2));
