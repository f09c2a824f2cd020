import type { ServerOptions } from 'node:http';
import type { Config } from '../config.js';

/**
 * Options for http.createServer against slow clients (slowloris):
 *  - headersTimeout: the whole header block must arrive within HEADERS_TIMEOUT_MS, else Node
 *    answers 408 and closes the connection; connectionsCheckingInterval is how often Node looks,
 *    so it is kept well under the timeout.
 *  - maxHeaderSize: larger header blocks get 431 from Node before any of our code runs.
 *  - requestTimeout stays 0 (no limit on a whole request): a 5 GB upload on a slow link is
 *    legitimate. A body that stalls is cut by the idle timeout in limits.ts (BODY_IDLE_TIMEOUT_MS).
 *  - keepAliveTimeout: idle keep-alive connections are closed after 5 s.
 * src/server.ts: `createServer(serverOptions(config), api.app)`.
 */
export function serverOptions(config: Pick<Config, 'security'>): ServerOptions {
  const { headersTimeoutMs, maxHeaderBytes } = config.security;
  return {
    headersTimeout: headersTimeoutMs,
    requestTimeout: 0,
    connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(headersTimeoutMs / 4))),
    maxHeaderSize: maxHeaderBytes,
    keepAliveTimeout: 5000,
  };
}
