/**
 * The analytics projection: a fold of ROOM_EVENTS_TOPIC into analytics_events (one row per
 * accepted, soft-failed or rejected event) and analytics_redactions (one row per accepted
 * redaction, naming its target). Only metadata is copied out of a record; see schema.ts.
 */
import {
  ROOM_EVENTS_TOPIC, isRoomRecord, redactionEffectsOf, roomVersionRules, toRoomEvent,
  type AnyPduAccepted, type LogEntry, type PduSoftFailed,
} from '../../domain/index.ts';
import { formatDateTimeUtc } from '../runtime/index.ts';
import type { ClickHouseProjection, ClickHouseRow } from '../runtime/clickhousePositions.ts';
import { ANALYTICS_EVENTS_TABLE, ANALYTICS_REDACTIONS_TABLE, ANALYTICS_SCHEMA, ANALYTICS_TABLES, type AnalyticsStatus } from './schema.ts';

/** The last second a DateTime reads back on every server version (its UInt32 range ends in 2106). */
const MAX_DATETIME_MS = Date.UTC(2105, 11, 31, 23, 59, 59);

/** Remote clocks may send anything: clamp into what DateTime and UInt64 can hold. */
const dateTime = (ms: number): string => formatDateTimeUtc(Math.min(Math.max(Math.trunc(ms), 0), MAX_DATETIME_MS));
const milliseconds = (ms: number): number => Math.min(Math.max(Math.trunc(ms), 0), Number.MAX_SAFE_INTEGER);

/** client-server-api § m.room.member: the values the spec defines; anything else is not recorded. */
const MEMBERSHIPS = new Set(['invite', 'join', 'knock', 'leave', 'ban']);

export const serverOfUserId = (userId: string): string => {
  const colon = userId.indexOf(':');
  return colon < 0 ? '' : userId.slice(colon + 1);
};

interface EventMetadata {
  readonly type: string;
  readonly hasStateKey: boolean;
  readonly membership: string;
  readonly sender: string;
  readonly originServerTs: number;
}

const metadataOf = (record: AnyPduAccepted | PduSoftFailed): EventMetadata => {
  const rules = roomVersionRules(record.roomVersion);
  const parsed = rules === undefined ? undefined : toRoomEvent(record.pdu, rules, record.eventId);
  if (parsed === undefined || !parsed.ok) {
    // The writer accepted it, so this should not happen; keep what the top level says.
    const pdu = record.pdu;
    return {
      type: typeof pdu.type === 'string' ? pdu.type : '',
      hasStateKey: typeof pdu.state_key === 'string',
      membership: '',
      sender: typeof pdu.sender === 'string' ? pdu.sender : '',
      originServerTs: typeof pdu.origin_server_ts === 'number' ? pdu.origin_server_ts : 0,
    };
  }
  const event = parsed.value;
  const membership = event.type === 'm.room.member' && typeof event.content.membership === 'string'
    && MEMBERSHIPS.has(event.content.membership) ? event.content.membership : '';
  return {
    type: event.type,
    hasStateKey: event.stateKey !== undefined,
    membership,
    sender: event.sender,
    originServerTs: event.originServerTs,
  };
};

const eventRow = (entry: LogEntry, fields: {
  roomId: string; eventId: string; meta: EventMetadata | undefined; acceptedAt: number; local: boolean; status: AnalyticsStatus;
}): ClickHouseRow => {
  const { meta } = fields;
  // A rejected record carries no event: its time is when it was rejected, its other fields empty.
  const ts = meta?.originServerTs ?? fields.acceptedAt;
  return {
    table: ANALYTICS_EVENTS_TABLE,
    row: {
      log_partition: entry.partition,
      log_offset: entry.offset,
      room_id: fields.roomId,
      event_id: fields.eventId,
      event_type: meta?.type ?? '',
      has_state_key: meta?.hasStateKey === true ? 1 : 0,
      membership: meta?.membership ?? '',
      sender: meta?.sender ?? '',
      sender_server: meta === undefined ? '' : serverOfUserId(meta.sender),
      origin_server_ts: dateTime(ts),
      origin_server_ms: milliseconds(ts),
      accepted_at: dateTime(fields.acceptedAt),
      is_local: fields.local ? 1 : 0,
      status: fields.status,
    },
  };
};

/** The rows of one log entry. Throws on a record this version does not know (records.ts: fail loudly). */
export const analyticsRows = (entry: LogEntry): ClickHouseRow[] => {
  const record = entry.value;
  if (!isRoomRecord(record)) {
    throw new Error(`analytics: unknown record at ${entry.topic}/${entry.partition}@${entry.offset}`);
  }
  switch (record.type) {
    case 'pdu.accepted': {
      const meta = metadataOf(record);
      const rows = [eventRow(entry, {
        roomId: record.roomId, eventId: record.eventId, meta, acceptedAt: record.acceptedAt,
        local: record.local !== null, status: 'accepted',
      })];
      // Only what the decider decided redacts something (records.ts), never a bare `redacts` field.
      const effects = redactionEffectsOf(record);
      const redactions = [
        ...(effects.redacts === undefined ? [] : [{ redaction: record.eventId, target: effects.redacts }]),
        ...(effects.redactedBy === undefined ? [] : [{ redaction: effects.redactedBy, target: record.eventId }]),
      ];
      for (const { redaction, target } of redactions) {
        rows.push({
          table: ANALYTICS_REDACTIONS_TABLE,
          row: {
            log_partition: entry.partition,
            log_offset: entry.offset,
            room_id: record.roomId,
            redaction_event_id: redaction,
            redacts_event_id: target,
            redacted_at: dateTime(record.acceptedAt),
          },
        });
      }
      return rows;
    }
    case 'pdu.softFailed':
      return [eventRow(entry, {
        roomId: record.roomId, eventId: record.eventId, meta: metadataOf(record), acceptedAt: record.acceptedAt,
        local: false, status: 'soft_failed',
      })];
    case 'pdu.rejected':
      return [eventRow(entry, {
        roomId: record.roomId, eventId: record.eventId, meta: undefined, acceptedAt: record.rejectedAt,
        local: false, status: 'rejected',
      })];
    // Outliers (a remote room's auth chain and state, an invite to a room we are not in) are not
    // events of the room's timeline as this server saw it; the imported state is no event at all.
    case 'pdu.outlier':
    case 'state.imported':
    case 'membership.outOfBand':
    case 'pdu.backfilled':
      return [];
  }
};

export const ANALYTICS_PROJECTION: ClickHouseProjection = {
  name: 'analytics',
  // 2: redactions counted only as the decider decided them (pdu.accepted v2).
  version: 2,
  topic: ROOM_EVENTS_TOPIC,
  schema: ANALYTICS_SCHEMA,
  tables: ANALYTICS_TABLES,
  evolve: analyticsRows,
};
