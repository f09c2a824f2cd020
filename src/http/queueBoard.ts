import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type pg from 'pg';
import type { Auth } from '../auth/keys.js';
import type { LastUsedRecorder } from '../auth/lastUsed.js';
import type { Sessions } from '../auth/sessions.js';
import { findTenantId } from '../db/findTenantId.js';
import { HttpError } from '../errors.js';
import { authenticate, findAuth } from './auth.js';
import type { AppDeps } from './deps.js';
import type { Lookups } from './lookups.js';
import { clearSessionCookie, readSessionCookie } from './sessions.js';
import { CONTENT_SECURITY_POLICY } from './staticSite.js';

// The queue UI for operators (docs/observability.md, "Queue UI"): bull-board over the api's own
// BullMQ queues, at /admin/queues on the public port.
//  - Who: a key with the `admin` scope (Authorization: Bearer) or a dashboard session of one (the
//    cookie; a browser opens the board with it) of a tenant named in QUEUE_BOARD_TENANTS, the
//    operators' own. The board shows every tenant's queue entries, so with none named it is open to
//    nobody. No key: 401; a key without admin (or of another tenant): 403; problem+json as on /v1.
//  - What: read-only unless QUEUE_BOARD_WRITE=true. Read-only is enforced here (every method but
//    GET and HEAD is 405) and again by bull-board (readOnlyMode hides the buttons and refuses the
//    calls). With writes on, only the actions of ACTIONS pass: adding a job, editing a job's data,
//    delay or priority, obliterating a queue, changing its concurrency or rate limit stay refused
//    (queue entries are references to rows in Postgres, and only Sluice writes them).
//  - CSRF: bull-board's page cannot send the X-CSRF-Token the /v1 routes ask of a cookie, so a
//    cookie-authenticated write here must come from this origin instead (Sec-Fetch-Site:
//    same-origin, or an Origin equal to the request's own), on top of the cookie's SameSite=Strict.

export const QUEUE_BOARD_PATH = '/admin/queues';

const READS = new Set(['GET', 'HEAD']);

/**
 * The bull-board actions QUEUE_BOARD_WRITE=true enables (all PUT): retry, promote and clean (a job,
 * or every job in a state), pause and resume (a queue, or all), empty. An allow-list, so an action
 * a later bull-board adds stays refused until chosen here. Matched on the path lower-cased and
 * without trailing slashes, as Express's routing (case-insensitive, not strict) would match it.
 */
const ACTIONS = [
  /^\/api\/queues\/(pause|resume)$/,
  /^\/api\/queues\/[^/]+\/(pause|resume|empty|promote)$/,
  /^\/api\/queues\/[^/]+\/(retry|clean)\/[^/]+$/,
  /^\/api\/queues\/[^/]+\/[^/]+\/(retry|clean|promote)$/,
];
export const isQueueBoardAction = (method: string, path: string) => method === 'PUT' && ACTIONS.some((a) => a.test(path.toLowerCase().replace(/\/+$/, '')));

/**
 * The one inline stylesheet bull-board's script renders: the colours of the Redis logo in its
 * header (an SVG <style>), allowed by its hash alone. A bull-board upgrade that changes it shows
 * as a CSP refusal in test/observability/queueBoard.test.ts, which loads the page in Chromium.
 */
const REDIS_LOGO_STYLE = "'sha256-r2N1TB/gHbBtBZFKg7ejmq1acVSREzucTAEw6ga4hoU='";

/**
 * The app's policy (staticSite.ts) with two changes, on this path only: base-uri 'self' rather than
 * 'none', for the page's <base href="/admin/queues/">, against which bull-board resolves its
 * scripts, styles and API calls; and style-src adds the hash of the Redis logo's stylesheet. No
 * 'unsafe-inline': what the page itself has inline is removed from it instead (withoutInlineStyles).
 */
export const QUEUE_BOARD_CSP = Object.entries({ ...CONTENT_SECURITY_POLICY, 'base-uri': ["'self'"], 'style-src': [...CONTENT_SECURITY_POLICY['style-src'], REDIS_LOGO_STYLE] })
  .map(([k, v]) => `${k} ${v.join(' ')}`)
  .join('; ');

/**
 * bull-board's page as this CSP would have the browser refuse parts of it, with those parts taken
 * out so that nothing is refused (and nothing logged in the console): the Google Fonts stylesheet
 * (a request to a third party; the board falls back to the system's fonts) and the loading
 * placeholder's inline styles (it shows as plain "Loading" for the moment before the script runs).
 */
export function withoutInlineStyles(html: string): string {
  return html
    .replace(/<link [^>]*href="https:\/\/fonts\.googleapis\.com[^>]*>/g, '')
    .replace(/<style>[\s\S]*?<\/style>/g, '')
    .replace(/ style="[^"]*"/g, '');
}

export interface QueueBoardDeps {
  sessions: Sessions;
  lastUsed: LastUsedRecorder;
  lookups: Lookups;
}

export function queueBoard(deps: AppDeps, { sessions, lastUsed, lookups }: QueueBoardDeps): Router {
  const { write, tenants } = deps.config.queueBoard;
  const serverAdapter = new ExpressAdapter().setBasePath(QUEUE_BOARD_PATH);
  const adapter = (queue: AppDeps['queues']['predict'], description: string) => new BullMQAdapter(queue, { readOnlyMode: !write, allowRetries: write, description });
  createBullBoard({
    queues: [
      adapter(deps.queues.predict, 'Chunks of batch jobs (CSV and JSON Lines uploads)'),
      adapter(deps.queues.interactive, 'Single predictions (POST /v1/predictions)'),
      adapter(deps.queues.webhooks, 'Webhook delivery attempts'),
    ],
    serverAdapter,
    options: { uiConfig: { boardTitle: 'Sluice queues', hideDocsLink: true, miscLinks: [{ text: 'Sluice dashboard', url: '/' }] } },
  });
  const board = serverAdapter.getRouter() as express.Express;
  board.disable('x-powered-by'); // bull-board's own Express app; the api's disables it too

  const bearer = authenticate(deps.pool, lastUsed, lookups);
  const operatorTenants = new TenantNames(deps.pool, tenants);

  const router = express.Router();
  router.use((_req: Request, res: Response, next: NextFunction) => {
    res.setHeader('Content-Security-Policy', QUEUE_BOARD_CSP);
    // Queue contents and the page alike: never kept by a browser or a shared cache.
    res.setHeader('Cache-Control', 'no-store');
    // bull-board renders its page with res.render(view, params): sent through withoutInlineStyles.
    const render = res.render.bind(res);
    res.render = ((view: string, options?: object) => {
      render(view, options ?? {}, (err: Error | null, html?: string) => (err ? next(err) : res.type('html').send(withoutInlineStyles(html ?? ''))));
    }) as Response['render'];
    next();
  });
  router.use(async (req: Request, res: Response, next: NextFunction) => {
    const auth = req.get('authorization') === undefined && readSessionCookie(req) !== undefined ? await bySession(req, res, sessions, lastUsed) : await byKey(req, res, bearer);
    if (!auth.scopes.includes('admin')) throw new HttpError('forbidden', 'The queue UI needs a key with the "admin" scope.');
    if (!(await operatorTenants.includes(auth.tenantId))) throw new HttpError('forbidden', operatorTenants.none ? 'The queue UI is closed: an operator opens it to their own tenant\'s admin keys by naming the tenant in QUEUE_BOARD_TENANTS.' : 'The queue UI is open to the operators\' tenants only (QUEUE_BOARD_TENANTS).');
    if (!READS.has(req.method)) {
      if (!write) throw new HttpError('method_not_allowed', 'The queue UI is read-only; an operator enables its actions with QUEUE_BOARD_WRITE=true.', {}, { Allow: 'GET, HEAD' });
      if (!isQueueBoardAction(req.method, req.path)) {
        throw new HttpError('method_not_allowed', 'The queue UI offers retry, promote, clean, pause, resume and empty. Adding or editing jobs is not offered: queue entries are references to Sluice\'s rows in Postgres, which only Sluice writes.', {}, { Allow: 'GET, HEAD' });
      }
      deps.log.info({ reqId: req.id, keyId: auth.keyId, tenantId: auth.tenantId, method: req.method, path: req.path }, 'queue UI action');
    }
    next();
  });
  router.use(board);
  return router;
}

/** The bearer key, checked as on /v1 (authenticate without sessions decides by the header alone). */
async function byKey(req: Request, res: Response, bearer: ReturnType<typeof authenticate>): Promise<Auth> {
  let passed = false;
  await bearer(req, res, () => (passed = true));
  const auth = findAuth(req);
  if (!passed || !auth) throw new Error('authenticate neither threw nor passed');
  return auth;
}

/** The dashboard session's cookie; a write must come from this origin (see the top of this file). */
async function bySession(req: Request, res: Response, sessions: Sessions, lastUsed: LastUsedRecorder): Promise<Auth> {
  const session = await sessions.find(readSessionCookie(req)!);
  if (!session) {
    clearSessionCookie(req, res);
    throw new HttpError('unauthorized', 'Your dashboard session has ended; sign in again.', {}, { 'WWW-Authenticate': 'Bearer' });
  }
  if (!READS.has(req.method) && !sameOrigin(req)) {
    throw new HttpError('csrf_failed', 'A queue UI action authenticated by the session cookie must come from the queue UI\'s own page (same origin).');
  }
  lastUsed.note(session.auth.keyId);
  return session.auth;
}

function sameOrigin(req: Request): boolean {
  const site = req.get('sec-fetch-site');
  if (site !== undefined) return site === 'same-origin';
  const origin = req.get('origin');
  return origin !== undefined && origin === `${req.protocol}://${req.get('host')}`;
}

/** QUEUE_BOARD_TENANTS' names as tenant ids, looked up until found (a tenant may be created later). */
class TenantNames {
  private readonly ids = new Map<string, string>();
  constructor(
    private readonly pool: pg.Pool,
    private readonly names: readonly string[],
  ) {}

  get none(): boolean {
    return this.names.length === 0;
  }

  async includes(tenantId: string): Promise<boolean> {
    // None named: the board is open to nobody. It shows every tenant's queue entries (ids, and a
    // small job's records ride in its entry), so a tenant's own admin key must not open it by default.
    if (this.names.length === 0) return false;
    for (const name of this.names) {
      if (!this.ids.has(name)) {
        const id = await findTenantId(this.pool, name);
        if (id) this.ids.set(name, id);
      }
      if (this.ids.get(name) === tenantId) return true;
    }
    return false;
  }
}
