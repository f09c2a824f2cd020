import type { NextFunction, Request, Response } from 'express';
import type { RedisClient } from '../queue/redis.js';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { Config } from '../config.js';
import { HttpError } from '../errors.js';
import type { Logger } from '../log.js';
import { findAuth } from './auth.js';
import { OptimisticLimiter } from './optimisticLimiter.js';

// Limits per key and per tenant, counted in Redis so every api process shares them
// (rate-limiter-flexible). The tenant's budget is what protects the service: creating more keys
// does not add to it; the key's budget keeps one runaway key from using all of its tenant's.
//  - requests per second (a fixed one-second window), every request counted in Redis but waited
//    for only near the limit (optimisticLimiter.ts);
//  - uploads in flight (a CSV or multipart body being received): a point is taken from the key and
//    from its tenant when the upload starts and given back to both when its response is done (or
//    the connection drops). The counters expire after an hour, so a crashed api process cannot
//    hold slots for ever.
// Over either limit: 429 rate_limited with Retry-After. When Redis is unreachable the limits fall
// back to the process's memory (insuranceLimiter) rather than failing every request.

const UPLOAD_SLOT_TTL_S = 3600;
const UPLOAD_TYPES = ['multipart/form-data', 'text/csv', 'application/csv', 'text/plain'];

export function isUpload(req: Request): boolean {
  return (req.method === 'POST' || req.method === 'PUT') && !!req.is(UPLOAD_TYPES);
}

export function rateLimit(deps: { redis: RedisClient; config: Config; log: Logger }) {
  const { rateLimitPerSecond, maxConcurrentUploads, tenantRateLimitPerSecond, tenantMaxConcurrentUploads } = deps.config.security;
  const prefix = `${deps.config.redisPrefix}:rl`;
  const limiter = (name: string, points: number, duration: number) =>
    new RateLimiterRedis({
      storeClient: deps.redis,
      keyPrefix: `${prefix}:${name}`,
      points,
      duration,
      rejectIfRedisNotReady: true,
      insuranceLimiter: new RateLimiterMemory({ points, duration }),
    });
  // Requests per second: counted in Redis, waited for only near the limit (optimisticLimiter.ts).
  const lateError = (err: unknown) => deps.log.warn({ err }, 'a rate-limit count could not be recorded');
  const requests = new OptimisticLimiter(limiter('req', rateLimitPerSecond, 1), rateLimitPerSecond, lateError);
  const tenantRequests = new OptimisticLimiter(limiter('req-tenant', tenantRateLimitPerSecond, 1), tenantRateLimitPerSecond, lateError);
  const uploads = limiter('up', maxConcurrentUploads, UPLOAD_SLOT_TTL_S);
  const tenantUploads = limiter('up-tenant', tenantMaxConcurrentUploads, UPLOAD_SLOT_TTL_S);
  const giveBack = (l: RateLimiterRedis, id: string) => l.reward(id).catch((e: unknown) => deps.log.warn({ err: e }, 'could not release an upload slot'));

  return async (req: Request, res: Response, next: NextFunction) => {
    const auth = findAuth(req);
    if (!auth) return next();
    // Both counts at once (pipelined on one connection): one round trip per request, not two. A
    // request the key's limit refuses still counts against its tenant: the tenant's own key sent it.
    const [byKey, byTenant] = await Promise.allSettled([requests.consume(auth.keyId), tenantRequests.consume(auth.tenantId)]);
    if (byKey.status === 'rejected') {
      throw limited(byKey.reason, `More than ${rateLimitPerSecond} requests per second with this API key (RATE_LIMIT_PER_SECOND); slow down and retry after the Retry-After seconds.`);
    }
    if (byTenant.status === 'rejected') {
      throw limited(byTenant.reason, `More than ${tenantRateLimitPerSecond} requests per second from all of your tenant's API keys together (TENANT_RATE_LIMIT_PER_SECOND); slow down and retry after the Retry-After seconds.`);
    }
    const remaining = Math.min(byKey.value, byTenant.value);
    res.setHeader('RateLimit-Limit', String(rateLimitPerSecond));
    res.setHeader('RateLimit-Remaining', String(remaining));
    if (isUpload(req)) {
      try {
        await uploads.consume(auth.keyId);
      } catch (err) {
        // A refused consume still counted: give the point back, or refusals would hold slots.
        if (err instanceof RateLimiterRes) await uploads.reward(auth.keyId).catch(() => {});
        throw limited(err, `This API key already has ${maxConcurrentUploads} uploads in progress (MAX_CONCURRENT_UPLOADS); wait for one to finish.`, 1000);
      }
      try {
        await tenantUploads.consume(auth.tenantId);
      } catch (err) {
        if (err instanceof RateLimiterRes) await tenantUploads.reward(auth.tenantId).catch(() => {});
        await giveBack(uploads, auth.keyId);
        throw limited(err, `Your tenant already has ${tenantMaxConcurrentUploads} uploads in progress across its API keys (TENANT_MAX_CONCURRENT_UPLOADS); wait for one to finish.`, 1000);
      }
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        void giveBack(uploads, auth.keyId);
        void giveBack(tenantUploads, auth.tenantId);
      };
      res.once('finish', release);
      res.once('close', release);
      // The client may have gone while the slot was being taken: 'close' has then already fired.
      if (res.writableFinished || res.destroyed || req.socket.destroyed) release();
    }
    next();
  };
}

function limited(err: unknown, detail: string, retryMs?: number): HttpError | unknown {
  if (!(err instanceof RateLimiterRes)) return err; // both Redis and the fallback failed: a real error
  const seconds = Math.max(1, Math.ceil((retryMs ?? err.msBeforeNext) / 1000));
  return new HttpError('rate_limited', detail, { retry_after: seconds }, { 'Retry-After': String(seconds) });
}
