import type { TestProject } from 'vitest/node';
import { buildWeb, webBuildStale } from '../../scripts/buildWeb.js';

// The dashboard the browser tests load is the real build (web/dist, which the api serves by
// default), made once per test run before any file starts, and only when web/ changed since the
// last build (scripts/buildWeb.ts: `npm ci` in web/ when its dependencies are missing, then
// `vite build`). A build that fails does not stop the other tests: the browser tests report it.

export default async function setup(project: TestProject) {
  let error: string | null = null;
  try {
    if (webBuildStale()) await buildWeb({ quiet: true });
  } catch (err) {
    error = (err as Error).message;
  }
  project.provide('webBuild', { error });
}

declare module 'vitest' {
  export interface ProvidedContext {
    webBuild: { error: string | null };
  }
}
