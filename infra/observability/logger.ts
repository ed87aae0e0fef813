/** pino JSON logs: one object per line on stdout (or the given stream), ISO timestamps. */
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger } from 'pino';

export interface LoggerOptions {
  readonly level: string;
  /** Where lines go; stdout when omitted. Tests pass a stream to read them back. */
  readonly destination?: DestinationStream;
}

export const createLogger = (options: LoggerOptions): Logger =>
  pino(
    {
      level: options.level,
      base: { service: 'strata' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination ?? pino.destination({ dest: 1, sync: true }),
  );
