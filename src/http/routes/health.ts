import type { Router } from 'express';
import { assertMigrated } from '../../db/migrate.js';
import type { AppDeps } from '../deps.js';
import { defineRoute } from '../route.js';
import { series } from '../../metrics/series.js';
import { Health, Ready } from '../schemas.js';

export function registerHealthRoutes(router: Router, deps: AppDeps) {
  defineRoute(router, { method: 'get', path: '/healthz', scope: null, operationId: 'getHealth', summary: 'The process is up', tags: ['health'], responses: { 200: { description: 'up', schema: Health } } }, (_req, res) => {
    res.json({ status: 'ok' });
  });

  defineRoute(
    router,
    { method: 'get', path: '/readyz', scope: null, operationId: 'getReadiness', summary: 'Postgres and Redis reachable, schema migrated', tags: ['health'], responses: { 200: { description: 'ready', schema: Ready }, 503: { description: 'not ready: a check says why', schema: Ready, contentType: 'application/json' } } },
    async (req, res) => {
      // Set by the process on SIGTERM (src/api.ts): status `draining`, unready at once so balancers
      // stop sending here while the process still serves, for SHUTDOWN_DRAIN_MS, what they sent
      // before they noticed.
      if (req.app.locals.draining === true) {
        res.status(503).json({ status: 'draining', checks: {} });
        return;
      }
      const checks: Record<string, string> = {};
      await Promise.all([
        assertMigrated(deps.pool).then(() => (checks.postgres = 'ok'), (e: Error) => (checks.postgres = e.message.includes('schema') ? e.message : 'unreachable')),
        deps.redis.ping().then(() => (checks.redis = 'ok'), () => (checks.redis = 'unreachable')),
      ]);
      const ok = Object.values(checks).every((v) => v === 'ok');
      series.ready.set(ok ? 1 : 0);
      res.status(ok ? 200 : 503).json({ status: ok ? 'ready' : 'unavailable', checks });
    },
  );
}
