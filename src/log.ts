import { type Logger, pino } from 'pino';

export type { Logger };
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error';

/**
 * The root logger. JSON lines on stderr so stdout stays clean for command output
 * (`report -o json` must be pipeable). Components take `log.child({ component })`.
 * Errors are logged as `{ err }` so pino's serializer keeps message and stack.
 */
export function createLogger(
  level: LogLevel | 'silent' = 'info',
  destination?: NodeJS.WritableStream,
): Logger {
  return pino(
    { level, base: { app: 'ecr-warden' }, timestamp: pino.stdTimeFunctions.isoTime },
    (destination ?? pino.destination({ fd: 2, sync: false })) as pino.DestinationStream,
  );
}

export const silentLogger: Logger = pino({ level: 'silent' });
