import { pino, type Logger } from 'pino';
import type { Config } from './config.js';
import { traceLogMixin } from './tracing/logFields.js';

export type { Logger };

// Secrets never reach the logs: authorization headers and anything named like a secret are redacted.
export function createLogger(config: Pick<Config, 'logLevel'>, name: string): Logger {
  return pino({
    name,
    level: config.logLevel,
    // With tracing on, every line written inside a span carries its trace_id and span_id.
    mixin: traceLogMixin(),
    redact: {
      paths: [
        'req.headers.authorization', 'req.headers.cookie', 'headers.authorization', '*.headers.authorization', 'authorization', '*.authorization',
        '*.secret', '*.previous_secret', '*.apiKey', '*.key', 'secret', 'previous_secret', 'apiKey', 'key',
      ],
      censor: '[redacted]',
    },
  });
}
