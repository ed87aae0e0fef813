/**
 * Process lifecycle around the composition root: runs the start-up steps, then waits for SIGTERM /
 * SIGINT and stops what was started in reverse order, each step within a deadline. A start-up
 * failure prints one line to stderr (plus a JSON log line), stops what had started and exits 1.
 */
import type { Logger } from 'pino';
import { ConfigError } from '../config/index.ts';
import { createLogger } from '../observability/index.ts';
import { StartupError, reasonOf } from './startupError.ts';

export interface ServerLifecycle {
  /** Switches to the configured logger once the config is known (a default one logs until then). */
  useLogger(logger: Logger): Logger;
  /** Registers how to stop a subsystem; steps run in reverse order of registration. */
  onStop(name: string, stop: () => Promise<void>): void;
}

export interface RunServerOptions {
  /** Upper bound for each stop step (default 10 s). */
  readonly stopStepTimeoutMs?: number;
}

const SIGNALS = ['SIGTERM', 'SIGINT'] as const;

const failLine = (error: unknown): string =>
  error instanceof StartupError || error instanceof ConfigError
    ? reasonOf(error)
    : `unexpected start-up failure: ${reasonOf(error)}`;

export const runServer = async (
  start: (lifecycle: ServerLifecycle) => Promise<void>,
  options: RunServerOptions = {},
): Promise<never> => {
  let logger = createLogger({ level: 'info' });
  const steps: { name: string; stop: () => Promise<void> }[] = [];
  const stepTimeoutMs = options.stopStepTimeoutMs ?? 10_000;

  let signalled: (signal: string) => void = () => undefined;
  const shutdownRequested = new Promise<string>((resolve) => { signalled = resolve; });
  let stopping = false;
  for (const signal of SIGNALS) {
    process.on(signal, () => {
      if (stopping) {
        // A second signal while draining: the operator wants out now.
        logger.warn({ signal }, 'second signal during shutdown, exiting at once');
        process.exit(1);
      }
      stopping = true;
      signalled(signal);
    });
  }

  const crash = (kind: string) => (error: unknown) => {
    logger.fatal({ err: error }, kind);
    process.stderr.write(`strata: ${kind}: ${reasonOf(error)}\n`);
    process.exit(1);
  };
  process.on('uncaughtException', crash('uncaught exception'));
  process.on('unhandledRejection', crash('unhandled promise rejection'));
  // stderr is kept for one-line failures; Node's warnings (deprecations, a library's negative
  // timer) go to the JSON log instead of Node's default printer.
  process.removeAllListeners('warning');
  process.on('warning', (warning) =>
    logger.warn({ warning: { name: warning.name, message: warning.message, stack: warning.stack } }, 'node warning'));

  const stopAll = async (): Promise<boolean> => {
    let clean = true;
    for (const step of steps.reverse()) {
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          step.stop(),
          new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`did not stop within ${stepTimeoutMs} ms`)), stepTimeoutMs); }),
        ]);
        logger.info({ subsystem: step.name }, `stopped ${step.name}`);
      } catch (error) {
        clean = false;
        logger.error({ subsystem: step.name, err: error }, `failed to stop ${step.name}`);
      } finally {
        clearTimeout(timer);
      }
    }
    return clean;
  };

  try {
    await start({
      useLogger: (next) => (logger = next),
      onStop: (name, stop) => { steps.push({ name, stop }); },
    });
  } catch (error) {
    const line = failLine(error);
    const expected = error instanceof StartupError || error instanceof ConfigError;
    logger.fatal(expected ? { reason: line } : { reason: line, err: error }, 'start-up failed');
    process.stderr.write(`strata: ${line}\n`);
    await stopAll();
    process.exit(1);
  }

  const signal = await shutdownRequested;
  logger.info({ signal }, 'shutting down');
  const clean = await stopAll();
  logger.info({ clean }, 'stopped');
  process.exit(clean ? 0 : 1);
};
