import { createRouter, createWebHistory, type RouteLocationNormalized } from 'vue-router';
import type { Scope } from './api/types';
import type { SessionStore } from './composables/useSession';

// Every page is its own chunk, loaded when first visited: the first load carries only the shell
// and the sign-in page. A page names the scope it needs; without it the page is not offered (not
// in the menu) and visiting it shows why. Filters live in the URL (/jobs?status=running&model=x).

declare module 'vue-router' {
  interface RouteMeta {
    title: string;
    scope?: Scope;
    /** Also needed to use the page (Try it: reading models and writing a prediction). */
    scopes?: Scope[];
    public?: boolean;
  }
}

export function createAppRouter(session: SessionStore) {
  const router = createRouter({
    history: createWebHistory(),
    routes: [
      { path: '/', redirect: '/jobs' },
      { path: '/sign-in', name: 'sign-in', component: () => import('./pages/SignInPage.vue'), meta: { title: 'Sign in', public: true } },
      { path: '/jobs', name: 'jobs', component: () => import('./pages/JobsPage.vue'), meta: { title: 'Jobs', scope: 'jobs:read' } },
      { path: '/jobs/new', name: 'new-job', component: () => import('./pages/NewJobPage.vue'), meta: { title: 'New job', scope: 'jobs:write', scopes: ['models:read'] } },
      { path: '/jobs/:id', name: 'job', component: () => import('./pages/JobPage.vue'), meta: { title: 'Job', scope: 'jobs:read' }, props: true },
      { path: '/models', name: 'models', component: () => import('./pages/ModelsPage.vue'), meta: { title: 'Models', scope: 'models:read' } },
      { path: '/models/:name', name: 'model', component: () => import('./pages/ModelPage.vue'), meta: { title: 'Model', scope: 'models:read' }, props: true },
      { path: '/try', name: 'try', component: () => import('./pages/TryPage.vue'), meta: { title: 'Try it', scope: 'jobs:write', scopes: ['models:read'] } },
      { path: '/webhooks', name: 'webhooks', component: () => import('./pages/WebhooksPage.vue'), meta: { title: 'Webhooks', scope: 'webhooks:write' } },
      { path: '/keys', name: 'keys', component: () => import('./pages/KeysPage.vue'), meta: { title: 'API keys', scope: 'admin' } },
      { path: '/audit', name: 'audit', component: () => import('./pages/AuditPage.vue'), meta: { title: 'Audit log', scope: 'admin' } },
      { path: '/:rest(.*)*', name: 'not-found', component: () => import('./pages/NotFoundPage.vue'), meta: { title: 'Not found', public: true } },
    ],
  });

  const allowed = (to: RouteLocationNormalized) => [to.meta.scope, ...(to.meta.scopes ?? [])].every((s) => !s || session.can(s));

  router.beforeEach(async (to) => {
    if (to.meta.public) return true;
    // The page's chunk loads while the session is checked (the router would load it after).
    for (const r of to.matched) {
      const c = r.components?.default;
      if (typeof c === 'function') void (c as () => Promise<unknown>)().catch(() => {});
    }
    const s = await session.restore().catch(() => null);
    if (!s) return { name: 'sign-in', query: to.fullPath !== '/jobs' ? { next: to.fullPath } : {} };
    if (!allowed(to)) {
      // The first page this key may see, else the jobs page (which says what is missing).
      const first = router.getRoutes().find((r) => r.meta.scope && !r.path.includes(':') && r.name !== 'new-job' && [r.meta.scope, ...(r.meta.scopes ?? [])].every((x) => !x || session.can(x)));
      if (first && first.name !== to.name) return { name: first.name! };
    }
    return true;
  });
  router.afterEach((to) => {
    document.title = `${to.meta.title} · Sluice`;
  });
  return router;
}

export function pageAllowed(session: SessionStore, scopes: (Scope | undefined)[]): boolean {
  return scopes.every((s) => !s || session.can(s));
}
