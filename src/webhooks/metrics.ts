import { series } from '../metrics/series.js';

// The webhook series live on the process's registry (src/metrics/series.ts): these read the live
// instruments at each call, so they record into whatever configureMetrics set up (nothing before,
// or with METRICS_ENABLED=false).

/** Attempts by outcome: success, http_error, timeout, network, dns, refused_address. */
export const attemptsTotal = { inc: (labels: { outcome: string }) => series.webhookAttempts.inc(labels) };

/** Deliveries by how they ended, and retries scheduled: delivered, retry_scheduled, failed. */
export const deliveriesTotal = { inc: (labels: { result: string }) => series.webhookDeliveries.inc(labels) };

/** Time from the start of an attempt to the receiver answering (or giving up), by outcome. */
export const attemptSeconds = { observe: (labels: { outcome: string }, seconds: number) => series.webhookAttemptSeconds.observe(labels, seconds) };
