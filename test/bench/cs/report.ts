/** The side-by-side table (one column per server and rate) and the error lines that go with it. */
import { formatHostLoad, formatProcessLoad } from '../hostLoad.ts';
import { formatStages } from '../serverStages.ts';
import { formatRate, printTable } from '../measure.ts';
import type { ServerResult } from './scenario.ts';
import { formatMs } from './stats.ts';
import { achievedRate, judgeStep, sustainedRate, type StepResult } from './verdict.ts';

const count = (n: number): string => n.toLocaleString('en-US');

const STAGES_ROW = 'server stages p50 / p99 ms';

const ROWS: readonly [string, (s: StepResult, bound: number) => string][] = [
  ['offered rate', (s) => formatRate(s.rate)],
  ['sends ok / scheduled', (s) => `${count(s.figures.sendOk)} / ${count(s.schedule.scheduled)}`],
  ['send failures', (s) => count(s.figures.sendFailed)],
  ['skipped (in-flight cap)', (s) => count(s.schedule.skipped)],
  ['achieved send throughput', (s) => formatRate(achievedRate(s))],
  ['send latency p50', (s) => formatMs(s.figures.sendLatency.p50)],
  ['send latency p99', (s) => formatMs(s.figures.sendLatency.p99)],
  ['delivered / expected', (s) => `${count(s.figures.deliveries)} / ${count(s.figures.expectedDeliveries)}`],
  ['lost deliveries', (s) => count(s.figures.lostDeliveries)],
  ['delivery latency p50', (s) => formatMs(s.figures.deliveryLatency.p50)],
  ['delivery latency p95', (s) => formatMs(s.figures.deliveryLatency.p95)],
  ['delivery latency p99', (s) => formatMs(s.figures.deliveryLatency.p99)],
  ['delivery latency max', (s) => formatMs(s.figures.deliveryLatency.max)],
  // Inside the server (--metrics-url): a send's stages and a woken /sync's answer, p50 / p99 ms.
  [STAGES_ROW, (s) => formatStages(s.stages)],
  // Figures from a host whose other tenants took the CPU are not comparable with a quiet run's.
  ['host CPU during the step', (s) => formatHostLoad(s.host)],
  // Where it went: the server, its databases and log, and this load generator, in % of one core.
  ['CPU by process (% of a core)', (s) => formatProcessLoad(s.host)],
  ['sustained', (s, bound) => {
    const verdict = judgeStep(s, bound);
    return verdict.sustained ? 'yes' : `no: ${verdict.reasons.join(', ')}`;
  }],
];

/** A server's storage as the reader sees it; figures mean little without it. */
export const databaseOf = (r: Pick<ServerResult, 'database'>): string => r.database ?? 'not stated (--database)';

/**
 * The projections a server runs, from its `/health` body (`consumers` by name, `dependencies`):
 * whether the ClickHouse analytics view competes for the CPU is read, not assumed.
 */
export const projectionsOf = (health: unknown): string => {
  const body = typeof health === 'object' && health !== null ? (health as Record<string, unknown>) : {};
  const consumers = body.consumers;
  if (typeof consumers !== 'object' || consumers === null) return 'not reported (/health has no consumers)';
  const names = Object.keys(consumers);
  const clickhouse = (body.dependencies as Record<string, unknown> | undefined)?.clickhouse;
  const analytics = names.includes('analytics')
    ? `ClickHouse analytics on${typeof clickhouse === 'string' ? ` (${clickhouse})` : ''}`
    : 'ClickHouse analytics off';
  return `${names.join(', ')}; ${analytics}`;
};

export const printComparison = (title: string, results: readonly ServerResult[], p99BoundMs: number): void => {
  const columns = results.flatMap((r) => r.steps.map((step) => ({ server: r.label, result: r, step })));
  if (columns.length === 0) return;
  printTable(
    title,
    ['', ...columns.map((c) => `${c.server} @ ${formatRate(c.step.rate)}`)],
    [
      ['database', ...columns.map((c) => databaseOf(c.result))],
      ['projections', ...columns.map((c) => c.result.projections)],
      ...ROWS
        // The server stages row only when some server's /metrics was read (--metrics-url).
        .filter(([name]) => name !== STAGES_ROW || columns.some((c) => c.step.stages !== undefined))
        .map(([name, cell]) => [name, ...columns.map((c) => cell(c.step, p99BoundMs))]),
    ],
  );
};

/** Lines for stdout after the table: sustained throughput and listener health per server. */
export const summaryLines = (results: readonly ServerResult[], p99BoundMs: number): string[] =>
  results.flatMap((r) => {
    if (r.steps.length === 0) return [];
    const best = sustainedRate(r.steps, p99BoundMs);
    const l = r.listeners;
    const health = l === undefined ? '' :
      `; ${l.listeners} listeners (${l.filtered} with the message filter), ${count(l.syncs)} syncs, ` +
      `${l.limitedGaps} limited timelines backfilled, ${l.syncErrors} sync errors`;
    return [`${r.label} (${r.url}, database ${databaseOf(r)}, projections ${r.projections}): sustained ${best === undefined ? 'none of the rates tried' : formatRate(best)}${health}`];
  });

/**
 * Problems the reader must not miss: lost deliveries, failed and skipped sends, sync errors, a run
 * that did not finish. Each is one `error:` line.
 */
export const errorLines = (results: readonly ServerResult[], drainSeconds: number): string[] =>
  results.flatMap((r) => {
    const lines: string[] = [];
    if (r.error !== undefined) lines.push(`error: ${r.label}: run incomplete: ${r.error}`);
    for (const s of r.steps) {
      const at = `${r.label} @ ${formatRate(s.rate)}`;
      const f = s.figures;
      if (f.lostDeliveries > 0) {
        lines.push(`error: ${at}: ${count(f.lostDeliveries)} of ${count(f.expectedDeliveries)} deliveries lost ` +
          `(${count(f.sendOk - f.messagesDelivered)} messages not seen by every listener of their room within ${drainSeconds} s after sending stopped)`);
      }
      if (f.sendFailed > 0) {
        const reasons = f.sendErrors.map(([reason, n]) => `${reason} ×${count(n)}`).join(', ');
        lines.push(`error: ${at}: ${count(f.sendFailed)} sends failed (${reasons})` +
          (f.deliveredAfterFailedSend > 0 ? `; ${count(f.deliveredAfterFailedSend)} of them delivered anyway` : ''));
      }
      if (s.schedule.skipped > 0) lines.push(`error: ${at}: ${count(s.schedule.skipped)} sends skipped: the in-flight cap was reached`);
    }
    if (r.listeners !== undefined && r.listeners.syncErrors > 0) {
      lines.push(`error: ${r.label}: ${r.listeners.syncErrors} /sync requests failed (last: ${r.listeners.lastError ?? '?'})`);
    }
    return lines;
  });
