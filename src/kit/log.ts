import { pino, type Logger, type LevelWithSilent, type DestinationStream } from 'pino';

export type { Logger };

/**
 * Paths that may carry secrets anywhere in a log line. pino replaces them with "[redacted]" before anything is
 * written, so a careless `log.info({ config })` cannot leak a token or a password.
 */
export const REDACT_PATHS = [
  'password',
  'token',
  'secret',
  'authorization',
  '*.password',
  '*.token',
  '*.secret',
  '*.authorization',
  '*.databaseUrl',
  '*.bootstrapToken',
  '*.apiToken',
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  'config.databaseUrl',
  'config.bootstrapToken',
  'config.remoteToken',
];

export function createLogger(
  opts: { level: LevelWithSilent; name?: string },
  dest?: DestinationStream,
): Logger {
  return pino(
    {
      level: opts.level,
      name: opts.name ?? 'gatehouse',
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    dest ?? pino.destination({ fd: 2, sync: false }),
  );
}

export const silentLogger: Logger = pino({ level: 'silent' });
