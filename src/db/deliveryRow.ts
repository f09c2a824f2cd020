// The webhook_deliveries and webhook_attempts rows as the delivery queries read them. A delivery is
// one message (message_id, the webhook-id) owed to one destination; every attempt at it is kept.

/** The columns every view of a delivery row shares. */
export interface DeliveryBase {
  id: string;
  job_id: string;
  destination: 'callback' | 'endpoint';
  endpoint_id: string | null;
  url: string;
  message_id: string;
  event_type: string;
}

/** A delivery as the tenant sees it (GET /v1/jobs/{id}/deliveries). */
export interface DeliveryRow extends DeliveryBase {
  status: 'pending' | 'delivered' | 'failed';
  attempt_count: number;
  next_attempt_at: Date;
  last_status_code: number | null;
  last_error: string | null;
  created_at: Date;
  delivered_at: Date | null;
  failed_at: Date | null;
}

export const DELIVERY_COLUMNS = `id, job_id, destination, endpoint_id, url, message_id, event_type, status, attempt_count, next_attempt_at,
  last_status_code, last_error, created_at, delivered_at, failed_at`;

export interface AttemptRow {
  delivery_id: string;
  attempt_no: number;
  started_at: Date;
  url: string;
  address: string | null;
  status_code: number | null;
  latency_ms: number;
  outcome: string;
  error: string | null;
  response_excerpt: string | null;
}
