// One pino logger for the process; child loggers per reconcile and per message.
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(options: { level?: string; name?: string } = {}): Logger {
  return pino({
    name: options.name ?? 'sluice',
    level: options.level ?? process.env.LOG_LEVEL ?? 'info',
    // Secrets never reach the logs, whatever a caller passes along.
    redact: {
      paths: ['credentials', '*.credentials', 'secretAccessKey', '*.secretAccessKey', 'token', '*.token', 'uri', '*.uri'],
      censor: '[redacted]',
    },
    serializers: { err: pino.stdSerializers.err },
  });
}
