/**
 * The analytics projection: a fold of ROOM_EVENTS_TOPIC into analytics_events (one row per
 * accepted, soft-failed or rejected event) and analytics_redactions (one row per accepted
 * redaction, naming its target); ClickHouse folds both into the rollups. Only metadata is copied
 * out of a record; see schema.ts.
 */
import {
  ROOM_EVENTS_TOPIC, isInterestedInUser, isRoomRecord, redactionEffectsOf, roomVersionRules, toRoomEvent,
  type AnyPduAccepted, type AppserviceRegistration, type LogEntry, type PduSoftFailed,
} from '../../domain/index.ts';
import { formatDateTimeUtc } from '../runtime/index.ts';
import type { ClickHouseProjection, ClickHouseRow } from '../runtime/clickhousePositions.ts';
import {
  ANALYTICS_EVENTS_TABLE, ANALYTICS_REDACTIONS_TABLE, ANALYTICS_SCHEMA, ANALYTICS_TABLES, migrateAnalytics,
  type AnalyticsOrigin, type AnalyticsStatus,
} from './schema.ts';

/** The last second a DateTime reads back on every server version (its UInt32 range ends in 2106). */
const MAX_DATETIME_MS = Date.UTC(2105, 11, 31, 23, 59, 59);

/** Remote clocks may send anything: clamp into what DateTime and UInt64 can hold. */
const dateTime = (ms: number): string => formatDateTimeUtc(Math.min(Math.max(Math.trunc(ms), 0), MAX_DATETIME_MS));
const milliseconds = (ms: number): number => Math.min(Math.max(Math.trunc(ms), 0), Number.MAX_SAFE_INTEGER);

/** client-server-api § m.room.member: the values the spec defines; anything else is not recorded. */
const MEMBERSHIPS = new Set(['invite', 'join', 'knock', 'leave', 'ban']);

/**
 * Client-chosen names (msgtype, rel_type) longer than this are not recorded: no real one is, and a
 * client must not smuggle a message through a metadata column.
 */
const MAX_NAME_LENGTH = 128;
const ENCRYPTED_TYPE = 'm.room.encrypted';
const THREAD_RELATION = 'm.thread';

export const serverOfUserId = (userId: string): string => {
  const colon = userId.indexOf(':');
  return colon < 0 ? '' : userId.slice(colon + 1);
};

const nameIn = (value: unknown): string =>
  typeof value === 'string' && value.length <= MAX_NAME_LENGTH ? value : '';

const isObject = (value: unknown): value is Readonly<Record<string, unknown>> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

interface EventMetadata {
  readonly type: string;
  readonly hasStateKey: boolean;
  readonly membership: string;
  readonly msgtype: string;
  readonly relationType: string;
  readonly threadRoot: string;
  readonly contentBytes: number;
  readonly sender: string;
  readonly originServerTs: number;
}

const utf8 = new TextEncoder();

/** What the content says about the event, never what it says to people. */
const contentMetadata = (type: string, content: unknown) => {
  const fields = isObject(content) ? content : {};
  // client-server-api § Forming relationships between events: m.relates_to stays in the clear when encrypted.
  const relatesTo = isObject(fields['m.relates_to']) ? fields['m.relates_to'] : {};
  const relationType = nameIn(relatesTo.rel_type);
  return {
    membership: type === 'm.room.member' && typeof fields.membership === 'string' && MEMBERSHIPS.has(fields.membership) ? fields.membership : '',
    msgtype: nameIn(fields.msgtype),
    relationType,
    threadRoot: relationType === THREAD_RELATION && typeof relatesTo.event_id === 'string' && relatesTo.event_id.length <= 255 ? relatesTo.event_id : '',
    contentBytes: utf8.encode(JSON.stringify(content ?? {})).length,
  };
};

const metadataOf = (record: AnyPduAccepted | PduSoftFailed): EventMetadata => {
  const rules = roomVersionRules(record.roomVersion);
  const parsed = rules === undefined ? undefined : toRoomEvent(record.pdu, rules, record.eventId);
  if (parsed === undefined || !parsed.ok) {
    // The writer accepted it, so this should not happen; keep what the top level says.
    const pdu = record.pdu;
    const type = typeof pdu.type === 'string' ? pdu.type : '';
    return {
      type,
      hasStateKey: typeof pdu.state_key === 'string',
      ...contentMetadata(type, pdu.content),
      sender: typeof pdu.sender === 'string' ? pdu.sender : '',
      originServerTs: typeof pdu.origin_server_ts === 'number' ? pdu.origin_server_ts : 0,
    };
  }
  const event = parsed.value;
  return {
    type: event.type,
    hasStateKey: event.stateKey !== undefined,
    ...contentMetadata(event.type, event.content),
    sender: event.sender,
    originServerTs: event.originServerTs,
  };
};

const eventRow = (entry: LogEntry, fields: {
  roomId: string; roomVersion: string; eventId: string; meta: EventMetadata | undefined; acceptedAt: number;
  origin: AnalyticsOrigin; status: AnalyticsStatus;
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
      room_version: fields.roomVersion,
      event_id: fields.eventId,
      event_type: meta?.type ?? '',
      msgtype: meta?.msgtype ?? '',
      has_state_key: meta?.hasStateKey === true ? 1 : 0,
      membership: meta?.membership ?? '',
      encrypted: meta?.type === ENCRYPTED_TYPE ? 1 : 0,
      relation_type: meta?.relationType ?? '',
      thread_root: meta?.threadRoot ?? '',
      content_bytes: meta?.contentBytes ?? 0,
      sender: meta?.sender ?? '',
      sender_server: meta === undefined ? '' : serverOfUserId(meta.sender),
      origin: fields.origin,
      origin_server_ts: dateTime(ts),
      origin_server_ms: milliseconds(ts),
      accepted_at: dateTime(fields.acceptedAt),
      status: fields.status,
    },
  };
};

/**
 * By the sender's server, not by the path the event took: this server's invite of a remote user
 * (signed by the invitee's server first) and its join through another server arrive as remote PDUs
 * yet are its own users' events. A local event is bridged when its sender is an application
 * service's (its sender or in its user namespace).
 */
const originOf = (sender: string, serverName: string, registrations: readonly AppserviceRegistration[]): AnalyticsOrigin => {
  if (serverOfUserId(sender) !== serverName) return 'federated';
  return registrations.some((registration) => isInterestedInUser(registration, sender)) ? 'bridged' : 'local';
};

/**
 * The rows of one log entry; `serverName` is this server's; `registrations` are the application
 * services configured now (an event is classed as bridged by today's namespaces). Throws on a record this version does not
 * know (records.ts: fail loudly).
 */
export const analyticsRows = (entry: LogEntry, serverName: string, registrations: readonly AppserviceRegistration[]): ClickHouseRow[] => {
  const record = entry.value;
  if (!isRoomRecord(record)) {
    throw new Error(`analytics: unknown record at ${entry.topic}/${entry.partition}@${entry.offset}`);
  }
  switch (record.type) {
    case 'pdu.accepted': {
      const meta = metadataOf(record);
      const rows = [eventRow(entry, {
        roomId: record.roomId, roomVersion: record.roomVersion, eventId: record.eventId, meta, acceptedAt: record.acceptedAt,
        origin: originOf(meta.sender, serverName, registrations), status: 'accepted',
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
        roomId: record.roomId, roomVersion: record.roomVersion, eventId: record.eventId, meta: metadataOf(record),
        acceptedAt: record.acceptedAt, origin: 'federated', status: 'soft_failed',
      })];
    case 'pdu.rejected':
      return [eventRow(entry, {
        roomId: record.roomId, roomVersion: '', eventId: record.eventId, meta: undefined, acceptedAt: record.rejectedAt,
        origin: 'federated', status: 'rejected',
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

export const analyticsProjection = (serverName: string, registrations: readonly AppserviceRegistration[]): ClickHouseProjection => ({
  name: 'analytics',
  // 2: redactions counted only as the decider decided them (pdu.accepted v2).
  // 3: the warehouse row (room version, origin, msgtype, encryption, relation, size) and the rollups.
  // 4: origin by the sender's server (our invites of remote users and remote joins were `federated`).
  version: 4,
  topic: ROOM_EVENTS_TOPIC,
  schema: ANALYTICS_SCHEMA,
  migrate: migrateAnalytics,
  tables: ANALYTICS_TABLES,
  evolve: (entry) => analyticsRows(entry, serverName, registrations),
});
