/**
 * What every bench suite's `run` does around its scenario: parse the options (usage on --help or a
 * bad option, exit code 2), bound the whole command by --max-runtime, and note the machine's load.
 */
import { loadavg } from 'node:os';

const say = (line: string) => void process.stderr.write(`${line}\n`);

/** The options, or undefined when there is nothing to run (help printed, or a bad option reported). */
export const benchOptions = <T>(suite: string, usage: string, parse: () => T | 'help'): T | undefined => {
  try {
    const parsed = parse();
    if (parsed === 'help') {
      process.stdout.write(`${usage}\n`);
      return undefined;
    }
    return parsed;
  } catch (error) {
    say(`bench ${suite}: ${error instanceof Error ? error.message : String(error)}\n${usage}`);
    process.exitCode = 2;
    return undefined;
  }
};

export interface Watchdog {
  /** Aborted when --max-runtime is reached. */
  readonly signal: AbortSignal;
  stop(): void;
}

/**
 * Hard bound on the whole command: at `seconds` every request is aborted, and the process leaves
 * `graceMs` later even if something hangs.
 */
export const startWatchdog = (suite: string, seconds: number, graceMs = 60_000): Watchdog => {
  const controller = new AbortController();
  const timer = setTimeout(() => {
    say(`error: bench ${suite}: --max-runtime ${seconds} s reached, stopping`);
    controller.abort();
    setTimeout(() => process.exit(1), graceMs).unref();
  }, seconds * 1000);
  timer.unref();
  return { signal: controller.signal, stop: () => clearTimeout(timer) };
};

/** The 1, 5 and 15 minute load averages, printed beside figures taken on a shared machine. */
export const loadAverage = (): string => loadavg().map((n) => n.toFixed(1)).join(' ');
