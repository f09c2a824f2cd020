import type { ServerOptions } from 'node:http';
import type { Config } from '../config.js';

/**
 * Options for http.createServer against slow clients (slowloris):
 *  - headersTimeout: the whole header block must arrive within HEADERS_TIMEOUT_MS, else Node
 *    answers 408 and closes the connection; connectionsCheckingInterval is how often Node looks,
 *    so it is kept well under the timeout (and at most 1 s).
 *  - requestTimeout: the whole request, body included, must arrive within MAX_UPLOAD_SECONDS, else
 *    Node answers 408 and closes the connection; an upload in progress then fails its body stream
 *    and its job ends `failed` with upload_aborted, and its upload slots are given back. This cuts
 *    a body that trickles just fast enough to dodge the idle timeout; the default (6 h) leaves a
 *    5 GB upload on a slow link room to finish. Only receiving counts: once the request is in, a
 *    long poll (GET ?wait=) or a long download is not affected. Node wants it >= headersTimeout.
 *  - maxHeaderSize: larger header blocks get 431 from Node before any of our code runs.
 *  - A body that stalls altogether is cut sooner by the idle timeout in limits.ts (BODY_IDLE_TIMEOUT_MS).
 *  - keepAliveTimeout: idle keep-alive connections are closed after 5 s.
 * startApi (src/api.ts): `createServer(serverOptions(config), api.app)`.
 */
export function serverOptions(config: Pick<Config, 'security'>): ServerOptions {
  const { headersTimeoutMs, maxHeaderBytes, maxUploadMs } = config.security;
  return {
    headersTimeout: headersTimeoutMs,
    requestTimeout: Math.max(maxUploadMs, headersTimeoutMs),
    connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(headersTimeoutMs / 4))),
    maxHeaderSize: maxHeaderBytes,
    keepAliveTimeout: 5000,
  };
}
