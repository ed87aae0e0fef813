/**
 * A progress display for long CLI jobs (projection rebuilds) on stderr. On a terminal it redraws one
 * line — bar, percent, counts, rate and the time left at that rate — at most ten times a second; when stderr is a file or a pipe
 * (CI logs, systemd) it prints a plain line every few seconds instead, so logs stay readable.
 */

export interface ProgressStream {
  write(text: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

export interface ProgressOptions {
  /** Shown before the numbers, e.g. the projection name. */
  readonly label: string;
  readonly stream?: ProgressStream;
  /** Seconds between plain lines when not a terminal (default 5). */
  readonly plainIntervalSeconds?: number;
  /** Clock in milliseconds, for tests. */
  readonly now?: () => number;
}

export interface ProgressBar {
  update(done: number, total: number): void;
  /** Draws the final state and ends the line. */
  finish(): void;
}

const TTY_REDRAW_MS = 100;

const formatRate = (perSecond: number): string =>
  perSecond >= 10_000 ? `${(perSecond / 1000).toFixed(1)}k/s` : `${Math.round(perSecond)}/s`;

/** `45s`, `12m05s`, `3h07m`: the time left, coarser as it grows. */
export const formatDuration = (seconds: number): string => {
  const whole = Math.ceil(seconds);
  if (whole < 60) return `${whole}s`;
  const minutes = Math.floor(whole / 60);
  if (minutes < 60) return `${minutes}m${String(whole % 60).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
};

/** The time left at the average rate so far; unknown before anything is done. */
const eta = (done: number, total: number, seconds: number): string => {
  if (done >= total) return 'done';
  if (done <= 0) return 'ETA ?';
  return `ETA ${formatDuration(((total - done) * seconds) / done)}`;
};

export const createProgressBar = (options: ProgressOptions): ProgressBar => {
  const stream = options.stream ?? process.stderr;
  const now = options.now ?? Date.now;
  const tty = stream.isTTY === true;
  const plainEvery = (options.plainIntervalSeconds ?? 5) * 1000;
  const started = now();
  let lastDraw = Number.NEGATIVE_INFINITY;
  let done = 0;
  let total = 0;
  let finished = false;

  const summary = (): string => {
    const percent = total > 0 ? (100 * done) / total : 100;
    const seconds = Math.max((now() - started) / 1000, 0.001);
    return `${percent.toFixed(1).padStart(5)}%  ${done}/${total}  ${formatRate(done / seconds)}  ${eta(done, total, seconds)}`;
  };

  const draw = (): void => {
    if (tty) {
      const text = `${options.label} ${summary()}`;
      const width = Math.max(10, Math.min(40, (stream.columns ?? 80) - text.length - 4));
      const filled = total > 0 ? Math.min(width, Math.round((width * done) / total)) : width;
      // \r returns to the line start, \x1b[K clears what a longer previous line left behind.
      stream.write(`\r[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${text}\x1b[K`);
    } else {
      stream.write(`${options.label}: ${summary().trim()}\n`);
    }
    lastDraw = now();
  };

  return {
    update(nextDone, nextTotal) {
      if (finished) return;
      done = nextDone;
      total = nextTotal;
      if (now() - lastDraw >= (tty ? TTY_REDRAW_MS : plainEvery)) draw();
    },
    finish() {
      if (finished) return;
      finished = true;
      draw();
      if (tty) stream.write('\n');
    },
  };
};
