/** Small timing helpers for benchmarks: run for a fixed time, report operations per second. */
export interface Rate {
  readonly operations: number;
  readonly seconds: number;
  readonly perSecond: number;
}

/** Calls `operation` repeatedly for about `seconds`, after a short warm-up. */
export const measureRate = (operation: () => void, seconds = 2): Rate => {
  const warmUpEnd = performance.now() + 200;
  while (performance.now() < warmUpEnd) operation();
  const started = performance.now();
  const deadline = started + seconds * 1000;
  let operations = 0;
  while (performance.now() < deadline) {
    for (let i = 0; i < 50; i += 1) operation();
    operations += 50;
  }
  const elapsed = (performance.now() - started) / 1000;
  return { operations, seconds: elapsed, perSecond: operations / elapsed };
};

export const formatRate = (rate: number): string => `${Math.round(rate).toLocaleString('en-US')}/s`;

/** Prints rows as an aligned table on stdout. */
export const printTable = (title: string, header: readonly string[], rows: readonly (readonly string[])[]): void => {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ');
  process.stdout.write(`\n${title}\n${line(header)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}\n`);
  for (const row of rows) process.stdout.write(`${line(row)}\n`);
};
