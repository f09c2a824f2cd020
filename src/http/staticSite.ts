import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import path from 'node:path';
import { HttpError } from '../errors.js';

// The dashboard (web/, a Vue application built by `npm run build:web` into WEB_DIST_DIR, web/dist
// by default) served by the api at /, so the front end and the API share one origin: the session
// cookie can be SameSite=Strict and the Content-Security-Policy can say 'self' for everything.
//  - /assets/*: Vite's output, every name carrying a hash of its content, so a year's caching
//    without revalidation is safe (a new build has new names). A missing asset is a 404, never the
//    page (a script answered with HTML would fail in a confusing way).
//  - index.html for / and for every other path under which the application routes (/jobs/123): the
//    SPA fallback. A path outside /v1 that names a file (a dot in its last segment) falls back only
//    for a browser navigating (Accept: text/html); a missing favicon.png fetched by a script is a 404.
//    index.html is `no-cache`: revalidated each time (ETag), so a new build is seen on the next load.
//  - The folder is read at each request: a build made while the api runs is served without a
//    restart, and before any build / answers a short page that says how to make one.

/**
 * The policy of every response (helmet, src/http/app.ts). No 'unsafe-inline' anywhere: the built
 * application loads its scripts and styles from /assets only. Styles set from scripts through the
 * CSSOM (Vue's :style bindings, element.style) are not inline styles and are allowed; a style=""
 * attribute in markup or a <style> element injected at run time is not.
 */
export const CONTENT_SECURITY_POLICY = {
  'default-src': ["'self'"],
  'script-src': ["'self'"],
  'style-src': ["'self'"],
  'img-src': ["'self'", 'data:'],
  'connect-src': ["'self'"],
  'object-src': ["'none'"],
  'base-uri': ["'none'"],
  'frame-ancestors': ["'none'"],
  'form-action': ["'self'"],
};

export const IMMUTABLE = 'public, max-age=31536000, immutable';

const NOT_BUILT = [
  'The Sluice dashboard is not built yet.',
  '',
  'Build it with `npm run build:web` (`npm run demo` builds it for you), then reload this page;',
  'the api need not be restarted. The folder it is served from is WEB_DIST_DIR (web/dist by default).',
  '',
  'The API answers at /v1 and is described at /openapi.json.',
  '',
].join('\n');

const isApiPath = (p: string) => p === '/v1' || p.startsWith('/v1/');
const namesAFile = (p: string) => /\.[^/]*$/.test(p);

export function staticSite(distDir: string): Router {
  const router = express.Router();

  router.use(
    '/assets',
    express.static(path.join(distDir, 'assets'), { index: false, redirect: false, immutable: true, maxAge: 365 * 24 * 3600 * 1000 }),
    (req: Request) => {
      throw new HttpError('not_found', `No dashboard asset ${req.originalUrl.split('?')[0].slice(0, 200)}: the page was probably built before the last \`npm run build:web\`; reload it.`);
    },
  );
  // Other files at the top of the build (favicon, robots.txt): names without a hash, revalidated.
  const serveTop = express.static(distDir, { index: false, redirect: false, cacheControl: false, setHeaders: (res) => res.setHeader('Cache-Control', 'no-cache') });
  router.use((req: Request, res: Response, next: NextFunction) => (isApiPath(req.path) ? next() : serveTop(req, res, next)));

  router.use((req: Request, res: Response, next: NextFunction) => {
    if ((req.method !== 'GET' && req.method !== 'HEAD') || isApiPath(req.path)) return next();
    if (namesAFile(req.path) && !(req.headers.accept ?? '').includes('text/html')) return next();
    res.setHeader('Cache-Control', 'no-cache');
    res.sendFile('index.html', { root: distDir, cacheControl: false }, (err?: NodeJS.ErrnoException & { status?: number }) => {
      if (!err) return;
      if (res.headersSent) return; // the client went away mid-file
      if (err.code === 'ENOENT' || err.code === 'ENOTDIR' || err.status === 404) {
        res.status(404).type('text/plain; charset=utf-8').setHeader('Cache-Control', 'no-store');
        res.send(NOT_BUILT);
        return;
      }
      next(err);
    });
  });
  return router;
}
