import { describe, expect, it } from 'vitest';
import { MAX_TIME_MS } from '../../domain/app/analytics/index.ts';
import { exportEventsSql } from './queriesExport.ts';
import { roomDetailSql, userDetailSql } from './queriesDetail.ts';
import { activeUsersSql, timeseriesSql, topSql } from './queriesSeries.ts';
import { analystSqlSettings, clickHouseReason, DEFAULT_ANALYST_SQL_LIMITS } from './queriesSql.ts';
import { tokenizeSql } from './queriesSqlGuard.ts';

const HOSTILE = [`x' OR 1=1 --`, `\\'; DROP TABLE analytics_events; --`, 'a,b "c"\nd\r\0e', '\\', "'"];
const DAY = 86_400_000;
const HOUR = 3_600_000;

/** Each hostile value reaches the SQL as exactly one string literal holding it. */
const literals = (sql: string): string[] => tokenizeSql(sql).filter((t) => t.kind === 'string').map((t) => t.text);

describe('analyst SQL building', () => {
  it.each(HOSTILE)('keeps %j one string literal everywhere', (value) => {
    const roomId = `!${value}:a.test`;
    const userId = `@${value}:a.test`;
    const statements = [
      timeseriesSql({ bucket: 'hour', from: 0, to: DAY, groupBy: 'room', status: 'accepted', roomId, type: value, limit: 5 }),
      timeseriesSql({ bucket: 'minute', from: 5, to: DAY, groupBy: 'none', status: 'rejected', roomId, type: value, limit: 5 }),
      topSql({ dimension: 'senders', from: 1, to: DAY, roomId, limit: 3 }),
      roomDetailSql(roomId, { from: 0, to: DAY }),
      userDetailSql(userId, { from: 0, to: DAY }),
      exportEventsSql({ from: 0, to: DAY, roomId, sender: userId, type: value, status: 'accepted', limit: 10 }),
    ];
    for (const sql of statements) {
      expect(literals(sql).some((text) => text.includes(value)), sql).toBe(true);
      expect(tokenizeSql(sql).some((t) => t.kind === 'word' && /drop/i.test(t.text))).toBe(false);
    }
  });

  it('asks the rollups for whole hours and days and the fact table for the rest', () => {
    const base = { from: 0, to: 2 * DAY, status: 'accepted', limit: 10 } as const;
    expect(timeseriesSql({ ...base, bucket: 'hour', groupBy: 'type' })).toContain('FROM analytics_room_hourly');
    expect(timeseriesSql({ ...base, bucket: 'day', groupBy: 'none' })).toContain('FROM analytics_room_daily');
    expect(timeseriesSql({ ...base, bucket: 'day', groupBy: 'sender' })).toContain('FROM analytics_sender_daily');
    expect(timeseriesSql({ ...base, bucket: 'day', groupBy: 'server' })).toContain('FROM analytics_server_daily');
    expect(timeseriesSql({ ...base, bucket: 'day', groupBy: 'server', roomId: '!r:a' })).toContain('FROM analytics_events FINAL');
    expect(timeseriesSql({ ...base, bucket: 'hour', groupBy: 'sender' })).toContain('FROM analytics_events FINAL');
    expect(timeseriesSql({ ...base, from: HOUR, bucket: 'day', groupBy: 'room' })).toContain('FROM analytics_room_hourly');
    expect(timeseriesSql({ ...base, from: HOUR, bucket: 'day', groupBy: 'sender' })).toContain('FROM analytics_events FINAL');
    expect(topSql({ dimension: 'msgtypes', from: HOUR, to: DAY, limit: 5 })).toContain('FROM analytics_room_hourly');
    expect(topSql({ dimension: 'senders', from: HOUR, to: DAY, limit: 5 })).toContain('FROM analytics_events FINAL');
    expect(timeseriesSql({ ...base, bucket: 'minute', groupBy: 'none' })).toContain('FROM analytics_events FINAL');
    expect(timeseriesSql({ ...base, from: 1, bucket: 'day', groupBy: 'none' })).toContain('FROM analytics_events FINAL');
    expect(topSql({ dimension: 'servers', from: 0, to: MAX_TIME_MS + 1, limit: 5 })).toContain('FROM analytics_server_daily');
    expect(topSql({ dimension: 'rooms', from: 0, to: DAY + 1, limit: 5 })).toContain('FROM analytics_events FINAL');
    expect(activeUsersSql('analytics_active_users_monthly', 'month', { from: Date.UTC(2024, 2, 5), to: MAX_TIME_MS + 1 }))
      .toContain(`toUInt32(month) >= ${Date.UTC(2024, 2, 1) / DAY}`);
  });

  it('sends readonly last, after the limits', () => {
    const settings = analystSqlSettings(100, DEFAULT_ANALYST_SQL_LIMITS);
    expect(Object.keys(settings).at(-1)).toBe('readonly');
    expect(settings).toMatchObject({ readonly: 1, max_result_rows: 101, result_overflow_mode: 'break', read_overflow_mode: 'throw' });
  });

  it("keeps ClickHouse's own words from both message styles", () => {
    expect(clickHouseReason('ClickHouse query failed: Code: 62, e.displayText() = DB::Exception: Syntax error: failed at position 8, e.what() = DB::Exception'))
      .toBe('Syntax error: failed at position 8');
    expect(clickHouseReason('Code: 47. DB::Exception: Missing columns: \'x\' (UNKNOWN_IDENTIFIER) (version 24.8.1)\nStack trace: ...'))
      .toBe("Missing columns: 'x' (UNKNOWN_IDENTIFIER)");
  });
});
