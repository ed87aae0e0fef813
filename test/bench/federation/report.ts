/** The side-by-side table of `npm run bench federation`: one column per pair, runs folded in. */
import { formatRate, printTable } from '../measure.ts';
import { formatMs } from '../cs/stats.ts';
import type { PairName } from './options.ts';
import type { RunResult } from './scenario.ts';
import type { Latency, RunFigures } from './tracker.ts';

export interface PairResult {
  readonly pair: PairName;
  /** e.g. `Strata → Synapse`. */
  readonly title: string;
  readonly rate: number;
  readonly runs: readonly RunResult[];
  /** Why the pair was not run at all. */
  readonly notRun?: string;
}

const count = (n: number): string => n.toLocaleString('en-US');
const measured = (p: PairResult) => p.runs.filter((r): r is RunResult & { figures: RunFigures } => r.figures !== undefined);
const sum = (p: PairResult, f: (r: RunResult & { figures: RunFigures }) => number) => measured(p).reduce((n, r) => n + f(r), 0);

/** A value over the runs: itself for one run, `lowest – highest` for several. */
const spread = (values: readonly number[], format: (n: number) => string): string => {
  if (values.length === 0) return '-';
  const [low, high] = [Math.min(...values), Math.max(...values)];
  return low === high ? format(low) : `${format(low)} – ${format(high)}`;
};

/** The runs with the lowest and the highest p99 (a run with no samples counts as the worst). */
export const bestAndWorst = (p: PairResult): { best?: RunResult & { figures: RunFigures }; worst?: RunResult & { figures: RunFigures } } => {
  const key = (r: { figures: RunFigures }) => (Number.isNaN(r.figures.latency.p99) ? Number.POSITIVE_INFINITY : r.figures.latency.p99);
  const sorted = [...measured(p)].sort((a, b) => key(a) - key(b));
  return { best: sorted[0], worst: sorted[sorted.length - 1] };
};

const latencyCells = (l: Latency | undefined): string =>
  l === undefined ? '-' : `${formatMs(l.p50)} / ${formatMs(l.p90)} / ${formatMs(l.p99)} / ${formatMs(l.max)}`;

/** Lost: not in the receiver's /messages after the drain; else, not served by every listener's /sync. */
const status = (p: PairResult): string => {
  if (p.notRun !== undefined) return `not run: ${p.notRun}`;
  const failed = p.runs.filter((r) => r.error !== undefined).length;
  if (failed > 0) return `${failed} of ${p.runs.length} runs incomplete`;
  const lost = sum(p, (r) => r.figures.sendOk - (r.figures.inHistory ?? r.figures.accepted));
  const missed = sum(p, (r) => r.figures.incomplete);
  if (lost > 0) return `${count(lost)} not on receiver after drain`;
  return missed > 0 ? `none lost; ${count(missed)} not in every /sync` : 'ok, nothing lost';
};

export const printPairs = (title: string, pairs: readonly PairResult[], runs: number): void => {
  const row = (name: string, cell: (p: PairResult) => string): string[] => [name, ...pairs.map((p) => (p.notRun === undefined ? cell(p) : '-'))];
  const rows: string[][] = [
    ['status', ...pairs.map(status)],
    row('runs measured', (p) => `${measured(p).length} / ${p.runs.length}`),
    row('offered rate', (p) => formatRate(p.rate)),
    row('sends ok / scheduled', (p) => `${count(sum(p, (r) => r.figures.sendOk))} / ${count(p.runs.reduce((n, r) => n + (r.schedule?.scheduled ?? 0), 0))}`),
    row('send failures / skipped', (p) => `${count(sum(p, (r) => r.figures.sendFailed))} / ${count(p.runs.reduce((n, r) => n + (r.schedule?.skipped ?? 0), 0))}`),
    row('accepted by receiver', (p) => `${count(sum(p, (r) => r.figures.accepted))} / ${count(sum(p, (r) => r.figures.sendOk))}`),
    row('accepted PDUs/s', (p) => spread(measured(p).map((r) => r.figures.acceptedPerSecond), (n) => `${n.toFixed(1)}/s`)),
    row('in receiver /messages after drain', (p) => measured(p).some((r) => r.figures.inHistory === undefined) ? '-' :
      `${count(sum(p, (r) => r.figures.inHistory ?? 0))} / ${count(sum(p, (r) => r.figures.sendOk))}`),
    row('never in receiver /sync', (p) => count(sum(p, (r) => r.figures.lost))),
    row('missed by some listener', (p) => count(sum(p, (r) => r.figures.incomplete - r.figures.lost))),
    row(`send→remote sync p50/p90/p99/max${runs > 1 ? ', best run' : ''}`, (p) => latencyCells(bestAndWorst(p).best?.figures.latency)),
  ];
  if (runs > 1) {
    rows.push(row('send→remote sync p50/p90/p99/max, worst run', (p) => latencyCells(bestAndWorst(p).worst?.figures.latency)));
    rows.push(row('p99 over runs', (p) => spread(measured(p).map((r) => r.figures.latency.p99), formatMs)));
  }
  rows.push(
    row('latency samples', (p) => count(sum(p, (r) => r.figures.latency.count))),
    row('PUT /send p50 (sender)', (p) => spread(measured(p).map((r) => r.figures.sendP50).filter((n) => !Number.isNaN(n)), formatMs)),
    row('Strata sender: txns, PDUs/txn', (p) => {
      const counters = p.runs.flatMap((r) => (r.senderCounters === undefined ? [] : [r.senderCounters]));
      if (counters.length === 0) return '-';
      const [txns, pdus, retried] = counters.reduce(([t, d, f], c) => [t + c.delivered, d + c.pdus, f + c.retried], [0, 0, 0]);
      return `${count(txns)}, ${txns === 0 ? '-' : (pdus / txns).toFixed(1)}${retried > 0 ? `, ${count(retried)} failed` : ''}`;
    }),
    row('warm-up message', (p) => spread(p.runs.flatMap((r) => (r.warmupMs === undefined ? [] : [r.warmupMs])), formatMs)),
    row('remote joins (all listeners)', (p) => spread(p.runs.flatMap((r) => (r.joinMs === undefined ? [] : [r.joinMs])), formatMs)),
    row('sync errors / limited gaps', (p) => `${p.runs.reduce((n, r) => n + r.syncErrors, 0)} / ${p.runs.reduce((n, r) => n + r.limitedGaps, 0)}`),
  );
  printTable(title, ['', ...pairs.map((p) => p.title)], rows);
};

/** `error:` lines the reader must not miss: incomplete runs, failed sends, losses, sync errors. */
export const errorLines = (pairs: readonly PairResult[], drainSeconds: number): string[] =>
  pairs.flatMap((p) => p.runs.flatMap((r) => {
    const at = `${p.title} run ${r.run}`;
    const lines: string[] = [];
    if (r.error !== undefined) lines.push(`error: ${at}: incomplete: ${r.error}`);
    const f = r.figures;
    if (f !== undefined && f.lost > 0) {
      const history = f.inHistory === undefined ? '' : `; the receiver's /messages held ${count(f.inHistory)} of the ${count(f.sendOk)} afterwards`;
      lines.push(`error: ${at}: ${count(f.lost)} of ${count(f.sendOk)} sent messages never reached the receiver's /sync within ${drainSeconds} s after sending stopped${history}`);
    }
    if (f !== undefined && f.incomplete > f.lost) lines.push(`error: ${at}: ${count(f.incomplete - f.lost)} messages reached some listeners but not all`);
    if (f !== undefined && f.sendFailed > 0) lines.push(`error: ${at}: ${count(f.sendFailed)} sends failed (${f.sendErrors.map(([e, n]) => `${e} ×${n}`).join(', ')})`);
    if ((r.schedule?.skipped ?? 0) > 0) lines.push(`error: ${at}: ${count(r.schedule?.skipped ?? 0)} sends skipped: the in-flight cap was reached`);
    if (r.syncErrors > 0) lines.push(`error: ${at}: ${r.syncErrors} /sync requests failed (last: ${r.lastSyncError ?? '?'})`);
    if (f !== undefined && f.beforeSendReturned > 0) lines.push(`note: ${at}: ${count(f.beforeSendReturned)} arrivals came before the sender's PUT returned (negative samples)`);
    return lines;
  }));
