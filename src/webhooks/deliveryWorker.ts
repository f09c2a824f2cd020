import { DelayedError, Queue, Worker, type Job } from 'bullmq';
import type { RedisClient } from '../queue/redis.js';
import type pg from 'pg';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { claimDelivery, type ClaimedDelivery } from '../db/claimDelivery.js';
import { countClearSecrets } from '../db/countClearSecrets.js';
import { deliveryState } from '../db/deliveryState.js';
import { ensureTenantSecret } from '../db/ensureTenantSecret.js';
import { failUnattempted } from '../db/failUnattempted.js';
import { finishAttempt, type AttemptSettlement } from '../db/finishAttempt.js';
import { selectTenantSigningSecrets } from '../db/selectTenantSigningSecrets.js';
import type { StoredSecrets } from '../db/storedSecrets.js';
import { DeliveryRef, deliveryJob } from '../queue/deliveryJobs.js';
import { QUEUES } from '../queue/queues.js';
import { queueTelemetry } from '../tracing/bullmq.js';
import { annotate, inSpan } from '../tracing/spans.js';
import { newSecret } from './endpoints.js';
import { attemptSeconds, attemptsTotal, deliveriesTotal } from './metrics.js';
import { decide, type Decision } from './policy.js';
import { sendOnce, type AttemptResult } from './send.js';
import { SecretCipher } from './secretCipher.js';
import { signatureHeaders } from './sign.js';
import { signingSecrets } from './signingSecrets.js';
import type { Resolver } from './ssrf.js';

// Sends deliveries. Each BullMQ job is one attempt of one delivery; the next attempt, when the
// policy wants one, is a new delayed job with its own deterministic id. Postgres holds the
// schedule (next_attempt_at), so the reconciler can rebuild the queue from it.

export interface DeliveryWorkerOptions {
  config: Config;
  pool: pg.Pool;
  connection: RedisClient;
  log: Logger;
  /** Tests only: a stand-in for DNS, to show what happens when a name resolves somewhere refused. */
  resolve?: Resolver;
}

/** What the policy decided, as it is written to the delivery: a failure's messages say why. */
function settlement(d: ClaimedDelivery, r: AttemptResult, decision: Decision): AttemptSettlement {
  if (decision.result !== 'give_up') return decision;
  return {
    result: 'failed',
    lastError: `${r.error ?? 'failed'}; gave up: ${decision.reason}`,
    disableEndpoint: decision.disableEndpoint && d.endpoint_id ? { endpointId: d.endpoint_id, reason: `${decision.reason} at ${r.startedAt.toISOString()}` } : undefined,
  };
}

/** How long a claimed attempt keeps others off before the reconciler assumes its worker died. */
const leaseMs = (config: Config) => config.webhooks.timeoutMs + 30_000;

/** Says, once per start, what an operator must fix about secrets at rest. */
function warnAboutSecrets({ config, pool, log }: DeliveryWorkerOptions): void {
  if (config.secrets.source === 'development') {
    log.warn('SECRETS_KEY is not set: webhook secrets are encrypted with the fixed development key, which is public. Set SECRETS_KEY (32 bytes, hex or base64) anywhere but development');
  }
  countClearSecrets(pool).then(
    (n) => n && log.warn({ clearSecrets: n }, 'webhook secrets still stored in clear: once every api and worker runs this release, run `npm run migrate -- --encrypt-secrets`'),
    () => {},
  );
}

export function startDeliveryWorker(opts: DeliveryWorkerOptions): { close(): Promise<void> } {
  const { config, pool, connection, log } = opts;
  const prefix = config.redisPrefix;
  const queue = new Queue(QUEUES.webhooks, { connection, prefix, telemetry: queueTelemetry() });
  const cipher = SecretCipher.fromConfig(config);
  warnAboutSecrets(opts);

  /** The delivery's stored secrets; a callback's tenant without a default secret gets one now (only we hold the key to make it). */
  async function storedSecrets(d: ClaimedDelivery): Promise<StoredSecrets | null> {
    if (d.destination !== 'callback' || d.secret !== null || d.secret_enc !== null) return d;
    await ensureTenantSecret(pool, d.tenant_id, newSecret(cipher, d.tenant_id).sealed);
    return selectTenantSigningSecrets(pool, d.tenant_id);
  }

  async function deliver(job: Job, token?: string): Promise<void> {
    const ref = DeliveryRef.parse(job.data);
    const d = await claimDelivery(pool, ref.deliveryId, ref.attempt, leaseMs(config));
    if (!d) return skip(job, ref, token);

    // jsonb keeps keys in its own order; put the envelope back in the order people read it.
    const p = d.payload as { type: string; timestamp: string; data: unknown };
    const body = JSON.stringify({ type: p.type, timestamp: p.timestamp, data: p.data });
    const stored = await storedSecrets(d);
    // A SecretDecryptError (SECRETS_KEY is not the key these were sealed with) fails the job: the
    // delivery stays pending and is tried again, after the lease, once the key is right.
    const secrets = stored ? signingSecrets(cipher, d.tenant_id, stored) : [];
    // Traced as part of the job's trace when the delivery was enqueued after the job's commit (its
    // context rides in the BullMQ job); a reconciled or retried one starts its own trace or continues this one.
    const result = await inSpan('webhook.send', () => sendOnce({
      url: d.url,
      body,
      headers: signatureHeaders(secrets, d.message_id, body),
      timeoutMs: config.webhooks.timeoutMs,
      allowPrivate: config.webhooks.allowPrivate,
      resolve: opts.resolve,
    }), { 'sluice.webhook.event': d.event_type, 'sluice.webhook.attempt': d.attempt_count });
    const decision = decide(result, d.attempt_count, config.webhooks.retrySchedule, d.event_type);
    annotate({ 'sluice.webhook.outcome': result.kind, 'sluice.webhook.decision': decision.result, ...(result.status ? { 'http.response.status_code': result.status } : {}) });
    await finishAttempt(pool, d, result, settlement(d, result, decision));

    attemptsTotal.inc({ outcome: result.kind });
    attemptSeconds.observe({ outcome: result.kind }, result.latencyMs / 1000);
    deliveriesTotal.inc({ result: decision.result === 'retry' ? 'retry_scheduled' : decision.result === 'delivered' ? 'delivered' : 'failed' });
    const fields = { job_id: d.job_id, tenant: d.tenant_id, deliveryId: d.id, webhookId: d.message_id, event: d.event_type, attempt: d.attempt_count, outcome: result.kind, status: result.status, latencyMs: result.latencyMs, error: result.error };
    if (decision.result === 'retry') {
      const next = { deliveryId: d.id, attempt: d.attempt_count };
      const job = deliveryJob(next, decision.delayMs);
      await queue.add(job.name, job.data, job.opts);
      log.info({ ...fields, retryInMs: decision.delayMs }, 'webhook attempt failed; retry scheduled');
    } else if (decision.result === 'give_up') {
      log.warn({ ...fields, reason: decision.reason, endpointDisabled: decision.disableEndpoint }, 'webhook delivery failed');
    } else {
      log.debug(fields, 'webhook delivered');
    }
  }

  /** The reference could not claim its attempt: stale, finished, not due yet, or undeliverable. */
  async function skip(job: Job, ref: DeliveryRef, token?: string): Promise<void> {
    const s = await deliveryState(pool, ref.deliveryId);
    if (!s || s.status !== 'pending' || s.attempt_count !== ref.attempt) return;
    if (s.endpoint_state === 'disabled' || s.endpoint_state === 'deleted') {
      await failUnattempted(pool, ref.deliveryId, ref.attempt, `endpoint ${s.endpoint_state}; not sent`);
      deliveriesTotal.inc({ result: 'failed' });
      return;
    }
    // Early (a reconciled lease, clock skew): wait in Redis until it is due.
    await job.moveToDelayed(Math.max(s.next_attempt_at.getTime(), Date.now() + 100), token);
    throw new DelayedError();
  }

  const worker = new Worker(QUEUES.webhooks, deliver, { connection, prefix, concurrency: config.webhooks.concurrency, telemetry: queueTelemetry() });
  worker.on('failed', (job, err) => log.error({ err, jobId: job?.id }, 'webhook job failed'));
  worker.on('error', (err) => log.error({ err }, 'webhook worker error'));

  return {
    async close() {
      await worker.close();
      await queue.close();
    },
  };
}
