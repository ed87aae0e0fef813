/**
 * One room's or one user's detail, from the fact table read with FINAL (exact, any range). A room or
 * user no row names at all is unknown (the use-case answers 404); one that is known but quiet in
 * the range has zeros.
 */
import type { KeyCount, RoomDetail, TimeRangeQuery, UserDetail } from '../../domain/app/analytics/index.ts';
import { chString } from '../runtime/index.ts';
import type { ClickHouseExecutor } from '../runtime/clickhousePositions.ts';
import { DAY_MS, msRange, num } from './queriesClient.ts';
import { ANALYTICS_EVENTS_TABLE, ANALYTICS_REDACTIONS_TABLE } from './schema.ts';

const TYPES_LIMIT = 100;
const TOP_LIMIT = 10;

export const roomDetailSql = (roomId: string, range: TimeRangeQuery): string => {
  const room = chString(roomId);
  return `SELECT
      countIf(status = 'accepted') AS events,
      countIf(status = 'accepted' AND has_state_key = 1) AS state_events,
      uniqExactIf(sender, status = 'accepted') AS senders,
      countIf(status = 'accepted' AND event_id IN (SELECT redacts_event_id FROM ${ANALYTICS_REDACTIONS_TABLE} WHERE room_id = ${room})) AS redacted,
      countIf(status = 'soft_failed') AS soft_failed,
      countIf(status = 'rejected') AS rejected,
      minIf(origin_server_ms, status = 'accepted') AS first_ts,
      maxIf(origin_server_ms, status = 'accepted') AS last_ts
    FROM ${ANALYTICS_EVENTS_TABLE} FINAL
    WHERE room_id = ${room} AND ${msRange(range.from, range.to)}`;
};

/** Accepted events in the range by `key`, largest first. */
export const keyCountsSql = (key: string, filter: string, range: TimeRangeQuery, limit: number): string =>
  `SELECT ${key} AS row_key, count() AS events FROM ${ANALYTICS_EVENTS_TABLE} FINAL
    WHERE ${filter} AND status = 'accepted' AND ${msRange(range.from, range.to)}
    GROUP BY row_key ORDER BY events DESC, row_key ASC LIMIT ${limit}`;

export const userDetailSql = (userId: string, range: TimeRangeQuery): string =>
  `SELECT count() AS events, uniqExact(room_id) AS rooms, uniqExact(intDiv(origin_server_ms, ${DAY_MS})) AS active_days,
      min(origin_server_ms) AS first_ts, max(origin_server_ms) AS last_ts
    FROM ${ANALYTICS_EVENTS_TABLE} FINAL
    WHERE sender = ${chString(userId)} AND status = 'accepted' AND ${msRange(range.from, range.to)}`;

interface RoomRow { events: number; state_events: number; senders: number; redacted: number; soft_failed: number; rejected: number; first_ts: number; last_ts: number }
interface UserRow { events: number; rooms: number; active_days: number; first_ts: number; last_ts: number }
interface KeyRow { row_key: string; events: number }

const keyCounts = (rows: readonly KeyRow[]): KeyCount[] => rows.map((row) => ({ key: String(row.row_key), events: num(row.events) }));

export const detailQueries = (ch: ClickHouseExecutor) => {
  /**
   * Any row of the room (or of the user as sender), in any range and status, and the room's version
   * (a rejected row has none). LIMIT 1 stops the scan at the first row found.
   */
  const known = async (column: 'room_id' | 'sender', id: string) => {
    const where = `${column} = ${chString(id)}`;
    const [versioned] = await ch.query<{ room_version: string }>(
      `SELECT room_version FROM ${ANALYTICS_EVENTS_TABLE} WHERE ${where} AND room_version != '' LIMIT 1`);
    if (versioned !== undefined) return { roomVersion: String(versioned.room_version) };
    const [any] = await ch.query<{ room_version: string }>(`SELECT room_version FROM ${ANALYTICS_EVENTS_TABLE} WHERE ${where} LIMIT 1`);
    return any === undefined ? undefined : { roomVersion: '' };
  };
  return {
    roomDetail: async (roomId: string, range: TimeRangeQuery): Promise<RoomDetail | undefined> => {
      const room = await known('room_id', roomId);
      if (room === undefined) return undefined;
      const filter = `room_id = ${chString(roomId)}`;
      const [[row], types, senders] = await Promise.all([
        ch.query<RoomRow>(roomDetailSql(roomId, range)),
        ch.query<KeyRow>(keyCountsSql('event_type', filter, range, TYPES_LIMIT)),
        ch.query<KeyRow>(keyCountsSql('sender', filter, range, TOP_LIMIT)),
      ]);
      const events = num(row?.events ?? 0);
      return {
        roomVersion: room.roomVersion, events, stateEvents: num(row?.state_events ?? 0), senders: num(row?.senders ?? 0),
        redacted: num(row?.redacted ?? 0), softFailed: num(row?.soft_failed ?? 0), rejected: num(row?.rejected ?? 0),
        firstTs: events === 0 ? null : num(row!.first_ts), lastTs: events === 0 ? null : num(row!.last_ts),
        types: keyCounts(types), topSenders: keyCounts(senders),
      };
    },
    userDetail: async (userId: string, range: TimeRangeQuery): Promise<UserDetail | undefined> => {
      if (await known('sender', userId) === undefined) return undefined;
      const filter = `sender = ${chString(userId)}`;
      const [[row], types, rooms] = await Promise.all([
        ch.query<UserRow>(userDetailSql(userId, range)),
        ch.query<KeyRow>(keyCountsSql('event_type', filter, range, TYPES_LIMIT)),
        ch.query<KeyRow>(keyCountsSql('room_id', filter, range, TOP_LIMIT)),
      ]);
      const events = num(row?.events ?? 0);
      return {
        events, rooms: num(row?.rooms ?? 0), activeDays: num(row?.active_days ?? 0),
        firstTs: events === 0 ? null : num(row!.first_ts), lastTs: events === 0 ? null : num(row!.last_ts),
        types: keyCounts(types), topRooms: keyCounts(rooms),
      };
    },
  };
};
