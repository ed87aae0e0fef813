import { describe, expect, it, vi } from 'vitest';
import { MatrixHttpError } from './matrixClient.ts';
import { errorLines, printComparison, projectionsOf, summaryLines } from './report.ts';
import { sendErrorKind, type ServerResult } from './scenario.ts';
import { summarize } from './stats.ts';
import type { StepResult } from './verdict.ts';

const step = (rate: number, lost: number, failed = 0, skipped = 0): StepResult => ({
  rate,
  schedule: { scheduled: rate * 10, started: rate * 10 - skipped, skipped, rejected: 0, elapsedMs: 10_000 },
  figures: {
    sendOk: rate * 10 - failed - skipped, sendFailed: failed, sendErrors: failed > 0 ? [['HTTP 500', failed]] : [],
    expectedDeliveries: rate * 10 - failed - skipped, deliveries: rate * 10 - failed - skipped - lost, lostDeliveries: lost,
    messagesDelivered: rate * 10 - failed - skipped - lost, deliveredAfterFailedSend: 0,
    sendLatency: summarize([5]), deliveryLatency: summarize([50]),
  },
});

const server = (steps: StepResult[], extra: Partial<ServerResult> = {}): ServerResult => ({
  label: 'Synapse', url: 'http://127.0.0.1:18008', projections: 'not reported (/health has no consumers)', steps,
  listeners: { listeners: 10, filtered: 10, syncs: 123, syncErrors: 0, limitedGaps: 1 }, ...extra,
});

describe('errorLines', () => {
  it('reports lost deliveries, failed and skipped sends and an incomplete run, one line each', () => {
    const lines = errorLines([server([step(100, 3, 2, 4)], { error: 'POST createRoom → 404' })], 15);
    expect(lines).toEqual([
      'error: Synapse: run incomplete: POST createRoom → 404',
      'error: Synapse @ 100/s: 3 of 994 deliveries lost (3 messages not seen by every listener of their room within 15 s after sending stopped)',
      'error: Synapse @ 100/s: 2 sends failed (HTTP 500 ×2)',
      'error: Synapse @ 100/s: 4 sends skipped: the in-flight cap was reached',
    ]);
  });

  it('is silent for a clean run', () => {
    expect(errorLines([server([step(100, 0)])], 15)).toEqual([]);
  });
});

describe('summaryLines', () => {
  it('names the highest sustained rate and the listeners health', () => {
    expect(summaryLines([server([step(100, 0), step(200, 50)])], 1000)).toEqual([
      'Synapse (http://127.0.0.1:18008, database not stated (--database), projections not reported (/health has no consumers)): sustained 100/s; 10 listeners (10 with the message filter), 123 syncs, 1 limited timelines backfilled, 0 sync errors',
    ]);
  });
});

describe('the database beside the figures', () => {
  it('names each server\'s database in its summary line', () => {
    const results = [server([step(100, 0)], { database: 'PostgreSQL (database synapse on 127.0.0.1:15432)' })];
    expect(summaryLines(results, 1000)[0]).toMatch(/^Synapse \(http:\/\/127\.0\.0\.1:18008, database PostgreSQL \(database synapse on 127\.0\.0\.1:15432\), projections not reported .*\): sustained 100\/s/);
  });

  it('puts a database row first in the table', () => {
    const written: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    try {
      printComparison('t', [server([step(100, 0), { ...step(200, 0), host: { busyPercent: 91.6, cpuWaitPercent: 34.2, processes: [{ name: 'Strata', percentOfCore: 80.2 }, { name: 'Kafka', percentOfCore: 12 }, { name: 'PostgreSQL', percentOfCore: 0.4 }] } }], { database: 'SQLite (/tmp/x.db)' })], 1000);
    } finally {
      spy.mockRestore();
    }
    const rows = written.join('').split('\n');
    expect(rows[4]).toMatch(/^database +SQLite \(\/tmp\/x\.db\)/);
    expect(rows[5]).toMatch(/^projections +not reported/);
    // How busy the machine was, beside the figures it explains.
    expect(rows.find((row) => row.startsWith('host CPU during the step'))).toMatch(
      /^host CPU during the step +not measured \(no \/proc\/stat\) +92 % busy, a task waited for a core 34 % of the time/,
    );
    expect(rows.find((row) => row.startsWith('CPU by process'))).toMatch(/^CPU by process \(% of a core\) +not measured \(no \/proc\) +Strata 80 %, Kafka 12 %/);
    // No server's /metrics read: no stages row.
    expect(rows.some((row) => row.startsWith('server stages'))).toBe(false);
  });

  it('prints the server stages read from /metrics, a dash for a server without', () => {
    const written: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    const stages = [{ stage: 'append', count: 9, p50: 12.5, p99: 140 }, { stage: 'wake→answer', count: 30, p50: 4.2, p99: 21 }];
    try {
      printComparison('t', [server([{ ...step(100, 0), stages }], { label: 'Strata' }), server([step(100, 0)])], 1000);
    } finally {
      spy.mockRestore();
    }
    expect(written.join('').split('\n').find((row) => row.startsWith('server stages'))).toMatch(
      /^server stages p50 \/ p99 ms +append 12\.5 \/ 140, wake→answer 4\.20 \/ 21\.0 +-/,
    );
  });
});

describe('projectionsOf', () => {
  it('names the consumers /health lists and whether the ClickHouse analytics view runs', () => {
    const consumers = { rooms: { state: 'running' }, search: { state: 'running' } };
    expect(projectionsOf({ dependencies: { clickhouse: 'up' }, consumers: { ...consumers, analytics: { state: 'running' } } }))
      .toBe('rooms, search, analytics; ClickHouse analytics on (up)');
    expect(projectionsOf({ dependencies: { database: 'up' }, consumers })).toBe('rooms, search; ClickHouse analytics off');
    expect(projectionsOf('OK')).toBe('not reported (/health has no consumers)');
    expect(projectionsOf(undefined)).toBe('not reported (/health has no consumers)');
  });
});

describe('sendErrorKind', () => {
  it('groups failures by status, timeout or socket error code', () => {
    expect(sendErrorKind(new MatrixHttpError('PUT', '/send/x', 429, { errcode: 'M_LIMIT_EXCEEDED' }))).toBe('HTTP 429 M_LIMIT_EXCEEDED');
    expect(sendErrorKind(new DOMException('timed out', 'TimeoutError'))).toBe('timed out');
    expect(sendErrorKind(new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } }))).toBe('ECONNREFUSED');
  });
});
