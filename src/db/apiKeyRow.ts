// An API key as listings show it: never the key (it is not stored), only its prefix, scopes and
// dates. Scopes are typed by the caller (src/auth/keys.ts names them; src/db does not import it).

export interface KeyView<S extends string = string> {
  id: string;
  name: string | null;
  prefix: string;
  scopes: S[];
  created_at: Date;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

/** The columns of api_keys that make a KeyView. */
export const KEY_COLUMNS = 'id, name, prefix, scopes, created_at, last_used_at, revoked_at';
