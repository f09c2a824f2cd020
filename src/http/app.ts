import { randomUUID } from 'node:crypto';
import express, { type Express } from 'express';
import helmet from 'helmet';
import { pinoHttp } from 'pino-http';
import { HttpError } from '../errors.js';
import { LastUsedRecorder } from '../auth/lastUsed.js';
import { authenticate } from './auth.js';
import type { AppDeps } from './deps.js';
import { bodyIdleTimeout, declaredSizeLimit } from './limits.js';
import { redactUrl } from './logRedaction.js';
import { errorHandler } from './problems.js';
import { queuedRowsCap } from './quotas.js';
import { rateLimit } from './ratelimit.js';
import { registerAdminRoutes } from './routes/admin.js';
import { registerHealthRoutes } from './routes/health.js';
import { registerJobRoutes } from './routes/jobs.js';
import { registerModelRoutes } from './routes/models.js';
import { registerOpenApiRoute } from './routes/openapi.js';
import { registerPredictionRoutes } from './routes/predictions.js';
import { registerResultRoutes } from './routes/results.js';
import { registerWebhookRoutes } from './routes/webhooks.js';

/** The api as a value: its dependencies are built by src/api.ts, startApi in the same file listens, and src/server.ts is the process's entry point. */
export function createApp(deps: AppDeps): Express {
  const { lookups } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.set('query parser', 'simple');
  app.locals.maxJsonDepth = deps.config.security.maxJsonDepth;
  app.use(helmet());
  app.use(
    pinoHttp({
      logger: deps.log,
      genReqId: (req, res) => {
        const given = req.headers['x-request-id'];
        const id = typeof given === 'string' && /^[\w.-]{1,128}$/.test(given) ? given : randomUUID();
        res.setHeader('X-Request-Id', id);
        return id;
      },
      autoLogging: { ignore: (req) => req.url === '/healthz' || req.url === '/readyz' },
      // Method and URL only: headers (Authorization, cookies) are never logged, and secret-like
      // query values are redacted. A refused request's line carries its problem code.
      serializers: { req: (req) => ({ id: req.id, method: req.method, url: redactUrl(req.url) }), res: (res) => ({ statusCode: res.statusCode }) },
      customProps: (_req, res) => (typeof res.locals?.problemCode === 'string' ? { code: res.locals.problemCode } : {}),
    }),
  );
  app.use(bodyIdleTimeout(deps.config.security.bodyIdleTimeoutMs));

  const open = express.Router();
  registerHealthRoutes(open, deps);
  registerOpenApiRoute(open, deps);
  app.use(open);

  const { security, intake } = deps.config;
  const lastUsed = new LastUsedRecorder(deps.pool, security.keyLastUsedFlushMs, (err) => {
    if (!/after calling end/.test(String((err as Error)?.message))) deps.log.warn({ err }, 'could not record keys\' last use; will retry');
  });
  app.locals.lastUsed = lastUsed; // flushed by the process on shutdown
  const v1 = express.Router();
  v1.use(authenticate(deps.pool, lastUsed, lookups));
  v1.use(rateLimit(deps));
  v1.post('/jobs', declaredSizeLimit(intake.maxUploadBytes + 1024 * 1024, 'a CSV upload (MAX_UPLOAD_BYTES)'), queuedRowsCap(lookups, security.maxQueuedRowsPerTenant, intake.maxRowsPerJob));
  v1.post('/predictions', queuedRowsCap(lookups, security.maxQueuedRowsPerTenant, intake.maxPredictionRecords));
  v1.post('/models/:name/versions', declaredSizeLimit(intake.maxModelBytes + 16 * 1024 * 1024, 'a model upload (MAX_MODEL_BYTES)'));
  registerAdminRoutes(v1, deps);
  registerModelRoutes(v1, deps);
  registerJobRoutes(v1, deps);
  registerResultRoutes(v1, deps);
  registerPredictionRoutes(v1, deps);
  registerWebhookRoutes(v1, deps);
  app.use('/v1', v1);

  app.use((req) => {
    throw new HttpError('not_found', `No route ${req.method} ${req.path}. The API is described at /openapi.json.`);
  });
  app.use(errorHandler(deps.log));
  return app;
}
