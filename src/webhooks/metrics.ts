import { Counter, Histogram, register } from 'prom-client';

// Counted on the default registry, so whichever process exposes /metrics shows them. Looked up
// before creating: a module evaluated twice (tests, hot reload) must not register a name twice.
function counter(name: string, help: string, labelNames: string[]): Counter {
  return (register.getSingleMetric(name) as Counter | undefined) ?? new Counter({ name, help, labelNames });
}

/** Attempts by outcome: success, http_error, timeout, network, dns, refused_address. */
export const attemptsTotal = counter('sluice_webhook_attempts_total', 'Webhook delivery attempts by outcome', ['outcome']);

/** Deliveries by how they ended, and retries scheduled: delivered, retry_scheduled, failed. */
export const deliveriesTotal = counter('sluice_webhook_deliveries_total', 'Webhook deliveries by result', ['result']);

export const attemptSeconds =
  (register.getSingleMetric('sluice_webhook_attempt_duration_seconds') as Histogram | undefined) ??
  new Histogram({
    name: 'sluice_webhook_attempt_duration_seconds',
    help: 'Time from the start of an attempt to the receiver answering (or giving up)',
    labelNames: ['outcome'],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30],
  });
