/**
 * Progress of a long bench phase on stderr, with the rate so far and the time left at that rate:
 * redrawn in place on a terminal, a plain line every few seconds otherwise (logs stay readable).
 */

const duration = (seconds: number): string => {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = s % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(rest).padStart(2, '0')}s` : `${rest}s`;
};

const count = (n: number): string => Math.round(n).toLocaleString('en-US');

/** `label: 42.0% 420,000/1,000,000, 12,345/s, 34s elapsed, ETA 47s`. */
export const progressLine = (label: string, done: number, total: number, elapsedMs: number): string => {
  const seconds = Math.max(elapsedMs / 1000, 0.001);
  const rate = done / seconds;
  const percent = total > 0 ? Math.min(100, (100 * done) / total) : 100;
  const eta = done >= total ? 'done' : `ETA ${duration(rate > 0 ? (total - done) / rate : Number.POSITIVE_INFINITY)}`;
  return `${label}: ${percent.toFixed(1)}% ${count(done)}/${count(total)}, ${count(rate)}/s, ${duration(seconds)} elapsed, ${eta}`;
};

export interface Progress {
  /** `note`: what the count is made of, e.g. each consumer's share. */
  update(done: number, note?: string): void;
  finish(done: number, note?: string): void;
}

export const createProgress = (label: string, total: number, stream: NodeJS.WriteStream = process.stderr): Progress => {
  const started = performance.now();
  const tty = stream.isTTY === true;
  const every = tty ? 250 : 5000;
  let last = started;
  const draw = (done: number, end: boolean, note: string | undefined) => {
    const line = `${progressLine(label, done, total, performance.now() - started)}${note === undefined ? '' : ` (${note})`}`;
    stream.write(tty ? `\r${line}\x1b[K${end ? '\n' : ''}` : `${line}\n`);
  };
  return {
    update: (done, note) => {
      const now = performance.now();
      if (now - last < every) return;
      last = now;
      draw(done, false, note);
    },
    finish: (done, note) => draw(done, true, note),
  };
};
