// A webhook_endpoints row as the endpoint queries return it: never its secrets, which leave the
// database only when they are made (insertEndpoint, replaceEndpointSecret) or to sign (claimDelivery).

export interface EndpointRow {
  id: string;
  url: string;
  events: string[];
  description: string | null;
  previous_secret_expires_at: Date | null;
  disabled_at: Date | null;
  disabled_reason: string | null;
  created_at: Date;
  updated_at: Date;
}

export const ENDPOINT_COLUMNS = `id, url, events, description, previous_secret_expires_at, disabled_at, disabled_reason, created_at, updated_at`;
