import { z } from 'zod';
import { SCOPES } from '../auth/keys.js';

// The dashboard session's request and response (src/http/routes/sessions.ts), named for
// /openapi.json like those of src/http/schemas.ts.

const sessionExample = {
  object: 'session',
  tenant: 'acme',
  scopes: ['jobs:read', 'jobs:write', 'models:read'],
  key_prefix: 'sluice_sk_4Fh2Qz',
  expires_at: '2026-01-02T21:00:00.000Z',
  idle_timeout_seconds: 1800,
  csrf_token: 'oJ0o2g1mHqk8bQy3nY6Ck0o5aVbZ8dWq1uH7lT2sRxE',
};

export const SessionCreateRequest = z
  .object({ key: z.string().min(1).max(200).describe('An API key (sluice_sk_…). Exchanged for the session cookie; never echoed back nor stored.') })
  .strict()
  .meta({ id: 'SessionCreateRequest', examples: [{ key: 'sluice_sk_…' }] });

export const Session = z
  .object({
    object: z.literal('session'),
    tenant: z.string().describe("The key's tenant"),
    scopes: z.array(z.enum(SCOPES)).describe("The key's scopes: what requests made with the session may do"),
    key_prefix: z.string().describe('The first characters of the key, as key listings show them'),
    expires_at: z.string().meta({ format: 'date-time' }).describe('When the session ends whatever its use (SESSION_MAX_HOURS after sign-in)'),
    idle_timeout_seconds: z.number().int().describe('The session also ends after this long without a request (SESSION_IDLE_MINUTES)'),
    csrf_token: z.string().describe('Send it as the X-CSRF-Token header with every request authenticated by the cookie that is not GET or HEAD'),
  })
  .meta({ id: 'Session', examples: [sessionExample] });
