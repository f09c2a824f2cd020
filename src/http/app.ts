import express, { type Express } from 'express';
import helmet from 'helmet';
import { HttpError } from '../errors.js';
import { LastUsedRecorder } from '../auth/lastUsed.js';
import { Sessions } from '../auth/sessions.js';
import { authenticate } from './auth.js';
import type { AppDeps } from './deps.js';
import { bodyIdleTimeout, declaredSizeLimit } from './limits.js';
import { accessLog } from './accessLog.js';
import { httpMetrics, rememberMount } from './httpMetrics.js';
import { requestSpans } from './requestSpans.js';
import { compressDownloads } from './responseCompression.js';
import { errorHandler } from './problems.js';
import { QUEUE_BOARD_PATH, queueBoard } from './queueBoard.js';
import { queuedRowsCap } from './quotas.js';
import { rateLimit } from './ratelimit.js';
import { registerAdminRoutes } from './routes/admin.js';
import { registerEventRoutes } from './routes/events.js';
import { registerHealthRoutes } from './routes/health.js';
import { registerJobRoutes } from './routes/jobs.js';
import { registerModelRoutes } from './routes/models.js';
import { registerOpenApiRoute } from './routes/openapi.js';
import { registerPredictionRoutes } from './routes/predictions.js';
import { registerResultRoutes } from './routes/results.js';
import { registerRetryRoutes } from './routes/retry.js';
import { registerSessionRoutes } from './routes/sessions.js';
import { registerWebhookRoutes } from './routes/webhooks.js';
import { CONTENT_SECURITY_POLICY, staticSite } from './staticSite.js';

/** The api as a value: its dependencies are built by src/api.ts, startApi in the same file listens, and src/server.ts is the process's entry point. */
export function createApp(deps: AppDeps): Express {
  const { lookups } = deps;
  const app = express();
  app.disable('x-powered-by');
  // Before everything: the request's duration is measured from its arrival, its body bytes from the first.
  app.use(httpMetrics());
  // Before the rest, so everything after it (the access log line included) runs inside the request's span.
  app.use(requestSpans());
  // Off unless TRUST_PROXY names the proxies in front: then their X-Forwarded-For/-Proto give the
  // client's address (rate limits, audit) and https (the session cookie's Secure attribute).
  app.set('trust proxy', deps.config.trustProxy);
  app.set('query parser', 'simple');
  app.locals.maxJsonDepth = deps.config.security.maxJsonDepth;
  // helmet's headers, with a strict Content-Security-Policy on every response (the dashboard's and
  // the API's alike): nothing inline, everything from this origin (src/http/staticSite.ts).
  app.use(helmet({ contentSecurityPolicy: { useDefaults: false, directives: CONTENT_SECURITY_POLICY } }));
  // The request id and the access line (accessLog.ts); health probes get no line.
  app.use(accessLog(deps.log, { ignore: (url) => url === '/healthz' || url === '/readyz' }));
  app.use(bodyIdleTimeout(deps.config.security.bodyIdleTimeoutMs));
  // GET answers (results above all) gzip-compressed when the client accepts it; never SSE (responseCompression.ts).
  app.use(compressDownloads());

  const open = express.Router();
  registerHealthRoutes(open, deps);
  registerOpenApiRoute(open, deps);
  app.use(open);

  const { security, intake } = deps.config;
  const lastUsed = new LastUsedRecorder(deps.pool, security.keyLastUsedFlushMs, (err) => {
    if (!/after calling end/.test(String((err as Error)?.message))) deps.log.warn({ err }, 'could not record keys\' last use; will retry');
  });
  app.locals.lastUsed = lastUsed; // flushed by the process on shutdown
  // Dashboard sessions (src/auth/sessions.ts): every /v1 route also takes the session cookie.
  const sessions = new Sessions(deps.pool, { idleMs: deps.config.dashboard.sessionIdleMs, maxMs: deps.config.dashboard.sessionMaxMs });
  app.locals.sessions = sessions; // tests move its clock
  const authenticated = [authenticate(deps.pool, lastUsed, lookups, sessions), rateLimit(deps)];
  const signIn = express.Router();
  registerSessionRoutes(signIn, deps, sessions, authenticated);
  app.use(signIn);
  const v1 = express.Router();
  v1.use(rememberMount);
  v1.use(...authenticated);
  v1.post('/jobs', declaredSizeLimit(intake.maxUploadBytes + 1024 * 1024, 'a CSV upload (MAX_UPLOAD_BYTES)'), queuedRowsCap(lookups, security.maxQueuedRowsPerTenant, intake.maxRowsPerJob));
  v1.post('/predictions', queuedRowsCap(lookups, security.maxQueuedRowsPerTenant, intake.maxPredictionRecords));
  v1.post('/models/:name/versions', declaredSizeLimit(intake.maxModelBytes + 16 * 1024 * 1024, 'a model upload (MAX_MODEL_BYTES)'));
  registerAdminRoutes(v1, deps);
  registerModelRoutes(v1, deps);
  registerJobRoutes(v1, deps);
  registerResultRoutes(v1, deps);
  registerRetryRoutes(v1, deps);
  registerEventRoutes(v1, deps);
  registerPredictionRoutes(v1, deps);
  registerWebhookRoutes(v1, deps);
  app.use('/v1', v1);
  // The queue UI for operators (bull-board): admin keys and sessions only, read-only by default.
  app.use(QUEUE_BOARD_PATH, queueBoard(deps, { sessions, lastUsed, lookups }));
  // The dashboard at / (anything not routed above; /v1 paths excepted).
  app.use(staticSite(deps.config.dashboard.webDistDir));

  app.use((req) => {
    throw new HttpError('not_found', `No route ${req.method} ${req.path}. The API is described at /openapi.json.`);
  });
  app.use(errorHandler(deps.log));
  return app;
}
