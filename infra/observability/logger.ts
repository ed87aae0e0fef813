/** pino JSON logs: one object per line on stdout (or the given stream), ISO timestamps. */
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger } from 'pino';

export interface LoggerOptions {
  readonly level: string;
  /** Where lines go; stdout when omitted. Tests pass a stream to read them back. */
  readonly destination?: DestinationStream;
}

let stdout: DestinationStream | undefined;

/**
 * stdout, written off the event loop: a line goes out at once when no write is in flight, and the
 * lines logged meanwhile go out together after it. The access log alone is a line per request, and
 * a system call each on the event loop was several per cent of a busy server's core
 * (docs/benchmarks.md, round 22); a stdout that stops reading no longer blocks the server either.
 * pino writes what is left synchronously when the process exits. One stream for every logger of
 * the process, so lines of two loggers never interleave within a line.
 */
export const stdoutDestination = (): DestinationStream => (stdout ??= pino.destination({ dest: 1, sync: false }));

export const createLogger = (options: LoggerOptions): Logger =>
  pino(
    {
      level: options.level,
      base: { service: 'strata' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination ?? stdoutDestination(),
  );
