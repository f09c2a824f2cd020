// The retry policy as data. Success is a 2xx within the timeout; everything else is retried on the
// schedule (the waits before attempts 1, 2, …: WEBHOOK_RETRY_SCHEDULE, like Svix's), with
// jitter so receivers coming back from an outage are not hit by every sender at the same second.
// Exceptions are listed below, where a reviewer can see them all.

export type OutcomeKind = 'success' | 'http_error' | 'timeout' | 'network' | 'dns' | 'refused_address';

export interface Outcome {
  kind: OutcomeKind;
  status?: number;
  /** From Retry-After, when the receiver sent one. */
  retryAfterMs?: number;
}

interface Rule {
  result: 'delivered' | 'retry' | 'give_up';
  /** Wait at least as long as the receiver asked (Retry-After). */
  honourRetryAfter?: boolean;
  /** The receiver told us the endpoint is gone: stop sending it anything. */
  disableEndpoint?: boolean;
  why?: string;
}

export const OUTCOME_RULES: Record<OutcomeKind, Rule> = {
  success: { result: 'delivered' },
  // 3xx included: redirects are never followed (a redirect could lead anywhere, past the address check).
  http_error: { result: 'retry' },
  timeout: { result: 'retry' },
  network: { result: 'retry' },
  dns: { result: 'retry' },
  // The host resolved to a refused address: asking again would not make it acceptable.
  refused_address: { result: 'give_up', why: 'the host resolves to an address webhooks may not reach' },
};

/** HTTP statuses that mean something other than "try again later". */
export const STATUS_RULES: Record<number, Rule> = {
  410: { result: 'give_up', disableEndpoint: true, why: 'the receiver answered 410 Gone' },
  429: { result: 'retry', honourRetryAfter: true },
  503: { result: 'retry', honourRetryAfter: true },
};

/** Events for which a later message supersedes an earlier one are sent once, never retried. */
export const SINGLE_ATTEMPT_EVENTS: ReadonlySet<string> = new Set(['job.progress']);

export const JITTER = 0.1; // ±10 % of each wait
export const MAX_RETRY_AFTER_MS = 24 * 60 * 60 * 1000;

export type Decision =
  | { result: 'delivered' }
  | { result: 'retry'; delayMs: number }
  | { result: 'give_up'; reason: string; disableEndpoint: boolean };

export function ruleFor(o: Outcome): Rule {
  if (o.kind === 'http_error' && o.status !== undefined && STATUS_RULES[o.status]) return STATUS_RULES[o.status];
  return OUTCOME_RULES[o.kind];
}

/**
 * What to do after attempt number `attemptNo` (1-based) ended with `o`. `schedule` lists the
 * waits in seconds before each attempt, so it holds as many entries as there are attempts.
 */
export function decide(o: Outcome, attemptNo: number, schedule: readonly number[], eventType: string, random: () => number = Math.random): Decision {
  const rule = ruleFor(o);
  if (rule.result === 'delivered') return { result: 'delivered' };
  if (rule.result === 'give_up') return { result: 'give_up', reason: rule.why ?? 'not retryable', disableEndpoint: !!rule.disableEndpoint };
  if (SINGLE_ATTEMPT_EVENTS.has(eventType)) return { result: 'give_up', reason: `${eventType} is sent once, never retried`, disableEndpoint: false };
  if (attemptNo >= schedule.length) return { result: 'give_up', reason: `no attempt left after ${attemptNo}`, disableEndpoint: false };
  const stepMs = schedule[attemptNo] * 1000;
  const jittered = stepMs === 0 ? 0 : Math.round(stepMs * (1 - JITTER + 2 * JITTER * random()));
  const asked = rule.honourRetryAfter && o.retryAfterMs !== undefined ? Math.min(o.retryAfterMs, MAX_RETRY_AFTER_MS) : 0;
  return { result: 'retry', delayMs: Math.max(jittered, asked) };
}

/** Retry-After is either delta-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
