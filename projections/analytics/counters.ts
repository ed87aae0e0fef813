/**
 * The live counters' queries over analytics_events (domain/app/analytics/counters.ts polls them
 * once per process every 2 s). Accepted events by origin_server_ts, as the analyst API counts.
 *
 * Rows are counted as distinct event ids rather than read with FINAL: a replayed batch's twin
 * rows count once all the same, without the merge FINAL costs on every poll. The table is
 * partitioned by month of accepted_at, so a bound on it lets ClickHouse skip older months: events
 * received over a day before their origin_server_ts (a clock that far ahead) are left out.
 */
import type { AnalyticsCounters, AnalyticsCountersReadModel } from '../../domain/app/analytics/index.ts';
import { chDateTime, chNumber } from '../runtime/index.ts';
import type { ClickHouseExecutor } from '../runtime/clickhousePositions.ts';
import { ANALYTICS_EVENTS_TABLE } from './schema.ts';

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
/** Event types named in by_type_last_hour: the most frequent ones (types are client-chosen, unbounded in number). */
export const COUNTED_TYPES = 50;

/** The windows ending at `now` (UTC): the last minute, the last hour, today. */
export const counterWindows = (now: number): { minute: number; hour: number; day: number; from: number } => {
  const day = now - (now % DAY_MS);
  const hour = now - HOUR_MS;
  return { minute: now - MINUTE_MS, hour, day, from: Math.min(day, hour) };
};

const acceptedBetween = (from: number, now: number): string => `status = 'accepted'
      AND origin_server_ms >= ${chNumber(from)} AND origin_server_ms <= ${chNumber(now)}
      AND accepted_at >= ${chDateTime(Math.max(0, from - DAY_MS))}`;

export const countersSql = (now: number): string => {
  const { minute, hour, day, from } = counterWindows(now);
  return `SELECT
      uniqExactIf(event_id, origin_server_ms >= ${chNumber(minute)}) AS events_last_minute,
      uniqExactIf(event_id, origin_server_ms >= ${chNumber(hour)}) AS events_last_hour,
      uniqExactIf(event_id, origin_server_ms >= ${chNumber(day)}) AS events_today,
      uniqExactIf(sender, origin_server_ms >= ${chNumber(day)}) AS senders_today,
      uniqExactIf(room_id, origin_server_ms >= ${chNumber(day)}) AS rooms_today
    FROM ${ANALYTICS_EVENTS_TABLE}
    WHERE ${acceptedBetween(from, now)}`;
};

export const typesLastHourSql = (now: number): string => `SELECT event_type, uniqExact(event_id) AS events
    FROM ${ANALYTICS_EVENTS_TABLE}
    WHERE ${acceptedBetween(counterWindows(now).hour, now)}
    GROUP BY event_type
    ORDER BY events DESC, event_type ASC
    LIMIT ${COUNTED_TYPES}`;

interface CountersRow {
  events_last_minute: number | string; events_last_hour: number | string; events_today: number | string;
  senders_today: number | string; rooms_today: number | string;
}

export const createClickHouseCountersReadModel = (ch: ClickHouseExecutor): AnalyticsCountersReadModel => ({
  counters: async (now): Promise<AnalyticsCounters> => {
    const [[totals], types] = await Promise.all([
      ch.query<CountersRow>(countersSql(now)),
      ch.query<{ event_type: string; events: number | string }>(typesLastHourSql(now)),
    ]);
    if (totals === undefined) throw new Error('the counters query answered no row');
    return {
      ts: now,
      eventsLastMinute: Number(totals.events_last_minute),
      eventsLastHour: Number(totals.events_last_hour),
      eventsToday: Number(totals.events_today),
      sendersToday: Number(totals.senders_today),
      roomsToday: Number(totals.rooms_today),
      byTypeLastHour: Object.fromEntries(types.map((row) => [row.event_type, Number(row.events)])),
    };
  },
});
