/**
 * Figures of `npm run bench sliding-sync`: per server, p50 and p99 over every run's samples, with the
 * best and worst run's value beside them (runs vary more than requests within a run do).
 */
import { formatMs, summarize } from '../cs/stats.ts';

export interface RunSamples {
  /** Milliseconds of each new connection's first request. */
  readonly firsts: readonly number[];
  /** Milliseconds of each incremental request, up to the answer that carried the new message. */
  readonly incrementals: readonly number[];
}

interface Figure {
  readonly all: number;
  readonly best: number;
  readonly worst: number;
}

export interface ServerFigures {
  readonly label: string;
  readonly firstP50: Figure;
  readonly firstP99: Figure;
  readonly incrementalP50: Figure;
  readonly incrementalP99: Figure;
}

const figure = (runs: readonly (readonly number[])[], of: (summary: ReturnType<typeof summarize>) => number): Figure => {
  const perRun = runs.map((samples) => of(summarize(samples))).filter((value) => !Number.isNaN(value));
  return {
    all: of(summarize(runs.flat())),
    best: perRun.length === 0 ? Number.NaN : Math.min(...perRun),
    worst: perRun.length === 0 ? Number.NaN : Math.max(...perRun),
  };
};

export const runFigures = (label: string, runs: readonly RunSamples[]): ServerFigures => ({
  label,
  firstP50: figure(runs.map((r) => r.firsts), (s) => s.p50),
  firstP99: figure(runs.map((r) => r.firsts), (s) => s.p99),
  incrementalP50: figure(runs.map((r) => r.incrementals), (s) => s.p50),
  incrementalP99: figure(runs.map((r) => r.incrementals), (s) => s.p99),
});

const cell = (f: Figure): string => `${formatMs(f.all)} (runs ${formatMs(f.best)}–${formatMs(f.worst)})`;

/** A Markdown table, one column per server. */
export const formatTable = (servers: readonly ServerFigures[]): string => {
  const rows: [string, (s: ServerFigures) => Figure][] = [
    ['first response p50', (s) => s.firstP50],
    ['first response p99', (s) => s.firstP99],
    ['incremental p50', (s) => s.incrementalP50],
    ['incremental p99', (s) => s.incrementalP99],
  ];
  return [
    `| | ${servers.map((s) => s.label).join(' | ')} |`,
    `|---|${servers.map(() => '---:').join('|')}|`,
    ...rows.map(([name, of]) => `| ${name} | ${servers.map((s) => cell(of(s))).join(' | ')} |`),
  ].join('\n');
};
