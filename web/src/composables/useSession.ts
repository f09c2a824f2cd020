import { computed, inject, reactive, type InjectionKey } from 'vue';
import { AuthenticationError } from '@client/errors';
import { closeAllStreams } from '../api/events';
import { onUnauthorized, setCsrfToken } from '../api/http';
import type { SluiceApi } from '../api/sluiceApi';
import type { Scope, Session } from '../api/types';

// The signed-in session: who (tenant, key prefix), what the key may do (scopes), until when. The
// API key typed in the sign-in form is sent once to POST /v1/sessions and dropped; the browser
// keeps only the HttpOnly cookie it cannot read, and this store the session's CSRF token in
// memory. `can(scope)` decides which controls a page offers: what the key may not do is not shown.

export function createSessionStore(api: SluiceApi) {
  const state = reactive({ session: null as Session | null, checked: false, ended: false });

  function set(s: Session | null) {
    state.session = s;
    setCsrfToken(s?.csrf_token ?? null);
    if (!s) closeAllStreams();
  }

  onUnauthorized(() => {
    if (state.session) state.ended = true;
    set(null);
  });

  /** The session of the cookie, once per page load (after a reload the CSRF token comes back this way). */
  async function restore(): Promise<Session | null> {
    if (state.checked) return state.session;
    try {
      set(await api.sessions.current());
    } catch (err) {
      if (!(err instanceof AuthenticationError)) throw err;
      set(null);
    }
    state.checked = true;
    return state.session;
  }

  async function signIn(key: string): Promise<Session> {
    const s = await api.sessions.signIn(key.trim());
    state.ended = false;
    state.checked = true;
    set(s);
    return s;
  }

  async function signOut(): Promise<void> {
    try {
      await api.sessions.signOut();
    } finally {
      state.ended = false;
      set(null);
    }
  }

  function can(scope: Scope): boolean {
    const scopes = state.session?.scopes ?? [];
    return scopes.includes(scope) || scopes.includes('admin');
  }

  return { state, session: computed(() => state.session), restore, signIn, signOut, can };
}

export type SessionStore = ReturnType<typeof createSessionStore>;
export const SessionKey: InjectionKey<SessionStore> = Symbol('Session');

export function useSession(): SessionStore {
  const s = inject(SessionKey);
  if (!s) throw new Error('useSession() outside the app: main.ts provides it');
  return s;
}
