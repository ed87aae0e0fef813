/**
 * The rooms projection: a fold of ROOM_EVENTS_TOPIC into the tables of schema.ts. Each record's
 * statements are pure functions of the record (the runtime commits them with the log position),
 * so the read model can be rebuilt from offset 0.
 */
import {
  ROOM_EVENTS_TOPIC, isRoomRecord, redactionEffectsOf, roomEventOfAcceptedPdu, roomVersionRules,
  type AnyPduAccepted, type JsonObject, type LogEntry, type MembershipOutOfBand, type PduBackfilled, type PduOutlier, type PduSoftFailed, type SqlStatement, type StateChange, type StateImported,
} from '../../domain/index.ts';
import type { Projection } from '../runtime/index.ts';
import { redactedPduSql } from './redactionSql.ts';
import { ROOMS_SCHEMA, ROOMS_TABLES } from './schema.ts';

const json = (value: unknown): string => JSON.stringify(value);

/**
 * PostgreSQL stores no U+0000, neither in text nor in a jsonb string, yet event content may carry
 * one (canonical JSON allows it). Text columns and the queryable jsonb get U+FFFD instead; the
 * event's exact JSON goes to `pdu_exact`, which readers prefer (rows.ts). A record the database
 * cannot take would stop the projection, and every room of its partition with it.
 */
const NUL = /\u0000/g;
const textSafe = <T extends string | null>(value: T): T => (value === null || !value.includes('\u0000') ? value : value.replace(NUL, '\ufffd') as T);
const withoutNul = (value: unknown): unknown => {
  if (typeof value === 'string') return textSafe(value);
  if (Array.isArray(value)) return value.map(withoutNul);
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [textSafe(k), withoutNul(v)]));
  return value;
};
/** The jsonb text and, when it had to differ, the exact JSON. JSON.stringify writes U+0000 as `\u0000`. */
const storedPdu = (pdu: unknown): { queryable: string; exact: string | null } => {
  const exact = json(pdu);
  return exact.includes('\\u0000') ? { queryable: json(withoutNul(pdu)), exact } : { queryable: exact, exact: null };
};

/** Rows of the event itself ($1 event id, $2 room id, $5 offset, $10 depth: reused below). */
const storedStateChanges = (changes: readonly StateChange[]): string =>
  json(changes.map((change) => ({ ...change, type: textSafe(change.type), stateKey: textSafe(change.stateKey) })));

/**
 * `state_after_delta`: for an accepted event, null when the state after it is the current state
 * at its offset; for a soft-failed one (an outlier with a place in the DAG) always set, `[]`
 * included, since an outlier without it has no known state after it.
 */
const stateAfterDeltaOf = (record: AnyPduAccepted | PduSoftFailed | PduOutlier | MembershipOutOfBand | PduBackfilled): string | null => {
  if (record.type === 'pdu.softFailed') return record.stateAfterDelta === undefined ? null : storedStateChanges(record.stateAfterDelta);
  if (record.type !== 'pdu.accepted' || record.v !== 2 || record.stateAfterDelta === undefined || record.stateAfterDelta.length === 0) return null;
  return storedStateChanges(record.stateAfterDelta);
};

const insertEvent = (record: AnyPduAccepted | PduSoftFailed | PduOutlier | MembershipOutOfBand | PduBackfilled, entry: LogEntry, depth: number, replaces: string | null): SqlStatement => {
  const pdu = record.pdu;
  const stored = storedPdu(pdu);
  const accepted = record.type === 'pdu.accepted' ? record : undefined;
  return {
    text: `INSERT INTO room_events (event_id, room_id, room_version, log_partition, log_offset, type, state_key,
             sender, origin_server_ts, depth, pdu, replaces_state, local_user_id, local_device_id, local_txn_id, accepted_at, pdu_exact,
             outlier, state_after_delta)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb, $12, $13, $14, $15, $16, $17, $18, $19::jsonb)
           ON CONFLICT (event_id) DO NOTHING`,
    values: [
      record.eventId, record.roomId, record.roomVersion, entry.partition, entry.offset, textSafe(String(pdu.type)),
      typeof pdu.state_key === 'string' ? textSafe(pdu.state_key) : null, textSafe(String(pdu.sender)),
      typeof pdu.origin_server_ts === 'number' ? pdu.origin_server_ts : 0, depth, stored.queryable, replaces,
      accepted?.local?.userId ?? null, accepted?.local?.deviceId ?? null, textSafe(accepted?.local?.txnId ?? null),
      record.type === 'pdu.accepted' || record.type === 'pdu.softFailed' ? record.acceptedAt : record.receivedAt, stored.exact,
      accepted === undefined && record.type !== 'pdu.backfilled', stateAfterDeltaOf(record),
    ],
  };
};

const stateChangeStatements = (record: { readonly roomId: string; readonly stateDelta: readonly StateChange[] }, entry: LogEntry): SqlStatement[] => {
  const statements: SqlStatement[] = [];
  for (const { type: rawType, stateKey: rawStateKey, ...change } of record.stateDelta) {
    const type = textSafe(rawType);
    const stateKey = textSafe(rawStateKey);
    statements.push({
      text: `INSERT INTO room_state_changes (room_id, log_offset, type, state_key, event_id, replaces)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
      values: [record.roomId, entry.offset, type, stateKey, change.eventId, change.replaces],
    });
    if (change.eventId === null) {
      statements.push({
        text: 'DELETE FROM room_current_state WHERE room_id = $1 AND type = $2 AND state_key = $3',
        values: [record.roomId, type, stateKey],
      });
      if (type === 'm.room.member') {
        statements.push({ text: 'DELETE FROM room_memberships WHERE room_id = $1 AND user_id = $2', values: [record.roomId, stateKey] });
      }
      continue;
    }
    statements.push({
      text: `INSERT INTO room_current_state (room_id, type, state_key, event_id, log_offset) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (room_id, type, state_key) DO UPDATE SET event_id = EXCLUDED.event_id, log_offset = EXCLUDED.log_offset`,
      values: [record.roomId, type, stateKey, change.eventId, entry.offset],
    });
    if (type === 'm.room.member') {
      // The member event may be an earlier one (a state resolution outcome): read its membership.
      statements.push({
        text: `INSERT INTO room_memberships (room_id, user_id, membership, event_id, log_offset)
               SELECT $1, $2, COALESCE(pdu->'content'->>'membership', 'leave'), event_id, $4 FROM room_events WHERE event_id = $3
               ON CONFLICT (room_id, user_id) DO UPDATE SET membership = EXCLUDED.membership,
                 event_id = EXCLUDED.event_id, log_offset = EXCLUDED.log_offset`,
        values: [record.roomId, stateKey, change.eventId, entry.offset],
      });
    }
  }
  return statements;
};

/**
 * Event types that count as activity for a room's `bump_stamp` (MSC4186, as Synapse's
 * SLIDING_SYNC_DEFAULT_BUMP_EVENT_TYPES): a membership or topic change does not reorder a room list.
 */
export const BUMP_EVENT_TYPES: ReadonlySet<string> = new Set([
  'm.room.create', 'm.room.message', 'm.room.encrypted', 'm.sticker', 'm.call.invite', 'm.poll.start', 'm.beacon_info',
]);

/** The state types the room's summary columns are read from (schema.ts, version 4). */
const SUMMARY_STATE_TYPES: ReadonlySet<string> = new Set(['m.room.name', 'm.room.avatar', 'm.room.canonical_alias', 'm.room.encryption']);

/** The summary's naming and encryption columns, read again from the current state (a redaction may have emptied a name). */
const namingSummary = (roomId: string): SqlStatement => ({
  text: `UPDATE rooms SET room_name = s.name, room_avatar = s.avatar, canonical_alias = s.alias, encrypted = s.encrypted
         FROM (SELECT
             max(CASE WHEN c.type = 'm.room.name' AND jsonb_typeof(e.pdu->'content'->'name') = 'string' THEN e.pdu->'content'->>'name' END) AS name,
             max(CASE WHEN c.type = 'm.room.avatar' AND jsonb_typeof(e.pdu->'content'->'url') = 'string' THEN e.pdu->'content'->>'url' END) AS avatar,
             max(CASE WHEN c.type = 'm.room.canonical_alias' AND jsonb_typeof(e.pdu->'content'->'alias') = 'string'
               THEN e.pdu->'content'->>'alias' END) AS alias,
             COALESCE(bool_or(c.type = 'm.room.encryption'), false) AS encrypted
           FROM room_current_state c JOIN room_events e ON e.event_id = c.event_id
           WHERE c.room_id = $1 AND c.state_key = '' AND c.type IN ('m.room.name', 'm.room.avatar', 'm.room.canonical_alias', 'm.room.encryption')) AS s
         WHERE rooms.room_id = $1`,
  values: [roomId],
});

/** The summary's member counts, counted again from the current memberships. */
const countsSummary = (roomId: string): SqlStatement => ({
  text: `UPDATE rooms SET
           joined_count = (SELECT count(*) FROM room_memberships WHERE room_id = $1 AND membership = 'join'),
           invited_count = (SELECT count(*) FROM room_memberships WHERE room_id = $1 AND membership = 'invite')
         WHERE room_id = $1`,
  values: [roomId],
});

/** The summary statements a state delta calls for: none for most events (messages change no state). */
const summaryStatements = (roomId: string, delta: readonly StateChange[]): SqlStatement[] => [
  ...(delta.some((change) => SUMMARY_STATE_TYPES.has(change.type) && change.stateKey === '') ? [namingSummary(roomId)] : []),
  ...(delta.some((change) => change.type === 'm.room.member') ? [countsSummary(roomId)] : []),
];

/**
 * Redacts `target` because of `redaction`, exactly as the record says the decider decided
 * (records.ts `redactionEffectsOf`): the projection never judges a redaction. The target must be
 * in the redaction's room (the decider checked; this keeps a v1 record from reaching across rooms).
 */
const redactStatement = (target: string, redaction: string, roomId: string, redactedPdu: string): SqlStatement => ({
  text: `UPDATE room_events SET pdu = ${redactedPdu}, pdu_exact = NULL, redacted_because = $2
         WHERE event_id = $1 AND room_id = $3 AND redacted_because IS NULL`,
  values: [target, redaction, roomId],
});

/** What the record's redaction judgement asks of this read model. */
const redactionStatements = (record: AnyPduAccepted, sender: string, redactedPdu: string): SqlStatement[] => {
  const effects = redactionEffectsOf(record);
  const statements: SqlStatement[] = [];
  const redacting = effects.redacts !== undefined || effects.redactedBy !== undefined;
  if (effects.redacts !== undefined) statements.push(redactStatement(effects.redacts, record.eventId, record.roomId, redactedPdu));
  // Kept so whoever ingests the target can hand it to the decider (RoomLookups.awaitingRedactions).
  if (effects.awaiting !== undefined) {
    statements.push({
      text: `INSERT INTO room_redactions (redaction_event_id, target_event_id, room_id, sender, is_local, sender_may_redact)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
      values: [record.eventId, effects.awaiting.target, record.roomId, sender, record.local !== null, effects.awaiting.senderMayRedact],
    });
  }
  // The decider found an awaiting redaction takes effect on this event: store it redacted, and the
  // redactions no longer await.
  if (effects.redactedBy !== undefined) {
    statements.push(redactStatement(record.eventId, effects.redactedBy, record.roomId, redactedPdu), {
      text: 'DELETE FROM room_redactions WHERE target_event_id = $1 AND room_id = $2',
      values: [record.eventId, record.roomId],
    });
  }
  // A redacted name, avatar or alias no longer names the room.
  if (redacting) statements.push(namingSummary(record.roomId));
  return statements;
};

const acceptedStatements = (record: AnyPduAccepted, entry: LogEntry): SqlStatement[] => {
  const rules = roomVersionRules(record.roomVersion);
  if (rules === undefined) throw new Error(`rooms projection: unknown room version ${record.roomVersion} at offset ${entry.offset}`);
  // Validated when it was accepted: read, not checked again.
  const event = roomEventOfAcceptedPdu(record.pdu, rules, record.eventId);
  const own = record.stateDelta.find((change) => change.eventId === record.eventId);
  const inserted = insertEvent(record, entry, event.depth, own?.replaces ?? null);
  const statements: SqlStatement[] = [];

  if (event.type === 'm.room.create' && event.stateKey === '') {
    statements.push(inserted, insertRoom(record, entry, event.sender, event.content), {
      text: `UPDATE rooms SET last_offset = $2, forward_extremities = $3::jsonb, max_depth = GREATEST(max_depth, $4),
               last_event_id = $5, bump_stamp = $6 WHERE room_id = $1`,
      values: [record.roomId, entry.offset, json(record.forwardExtremities), event.depth, record.eventId, record.acceptedAt],
    });
  } else {
    // Every other event: its row and the room's new head in one statement (a data-modifying WITH
    // always runs to completion), one statement per message instead of two. An activity event
    // moves the room's bump stamp to its acceptance time ($16).
    const next = inserted.values!.length + 1;
    statements.push({
      text: `WITH inserted AS (${inserted.text} RETURNING 1)
             UPDATE rooms SET last_offset = $5, forward_extremities = $${next}::jsonb, max_depth = GREATEST(max_depth, $10),
               last_event_id = $1${BUMP_EVENT_TYPES.has(event.type) ? ', bump_stamp = $16' : ''} WHERE room_id = $2`,
      values: [...inserted.values!, json(record.forwardExtremities)],
    });
  }
  statements.push(...stateChangeStatements(record, entry), ...summaryStatements(record.roomId, record.stateDelta));

  statements.push(...redactionStatements(record, event.sender, redactedPduSql(rules.redaction)));
  return statements;
};

/** The room's row, from its create event (accepted, or an outlier of a room joined through another server). */
const insertRoom = (record: AnyPduAccepted | PduOutlier, entry: LogEntry, sender: string, content: Record<string, unknown>): SqlStatement => {
  const rules = roomVersionRules(record.roomVersion)!;
  const creator = rules.auth.creatorIsCreateSender ? sender : String(content.creator ?? sender);
  const roomType = typeof content.type === 'string' ? textSafe(content.type) : null;
  return {
    text: `INSERT INTO rooms (room_id, room_version, creator, room_type, log_partition, last_offset, forward_extremities, max_depth, last_event_id)
           VALUES ($1, $2, $3, $4, $5, $6, '[]'::jsonb, 0, NULL) ON CONFLICT (room_id) DO NOTHING`,
    values: [record.roomId, record.roomVersion, textSafe(creator), roomType, entry.partition, entry.offset],
  };
};

const outlierStatements = (record: PduOutlier, entry: LogEntry): SqlStatement[] => {
  const rules = roomVersionRules(record.roomVersion);
  if (rules === undefined) throw new Error(`rooms projection: unknown room version ${record.roomVersion} at offset ${entry.offset}`);
  const event = roomEventOfAcceptedPdu(record.pdu, rules, record.eventId);
  const inserted = insertEvent(record, entry, event.depth, null);
  return event.type === 'm.room.create' && event.stateKey === '' ? [inserted, insertRoom(record, entry, event.sender, event.content)] : [inserted];
};

/** The room's state replaced by the one imported on a join through another server; its head moves there. */
const importedStatements = (record: StateImported, entry: LogEntry): SqlStatement[] => [
  ...stateChangeStatements(record, entry),
  namingSummary(record.roomId),
  countsSummary(record.roomId),
  {
    text: `UPDATE rooms SET last_offset = $2, forward_extremities = $3::jsonb,
             max_depth = GREATEST(max_depth, COALESCE((SELECT max(depth) FROM room_events WHERE room_id = $1), 0)) WHERE room_id = $1`,
    values: [record.roomId, entry.offset, json(record.forwardExtremities)],
  },
];

/**
 * A local user's membership in a room we do not participate in: the event held as an outlier and
 * made the user's membership (a room row without state, so /sync lists it), with the invite's
 * stripped state. A room we later join replaces its state wholesale (`state.imported`).
 */
/**
 * What another server's stripped state says of a room we are not in, for its summary: the type, name,
 * avatar, alias and encryption (sliding sync filters invites on them, as Synapse does from it).
 */
const strippedSummary = (stripped: readonly JsonObject[]): (string | boolean | null)[] => {
  const content = (type: string): Record<string, unknown> | undefined => {
    const event = stripped.find((candidate) => candidate.type === type && (candidate.state_key ?? '') === '');
    return typeof event?.content === 'object' && event.content !== null && !Array.isArray(event.content) ? event.content : undefined;
  };
  const text = (type: string, key: string): string | null => {
    const value = content(type)?.[key];
    return typeof value === 'string' ? textSafe(value) : null;
  };
  return [text('m.room.create', 'type'), text('m.room.name', 'name'), text('m.room.avatar', 'url'), text('m.room.canonical_alias', 'alias'),
    content('m.room.encryption') !== undefined];
};

const outOfBandStatements = (record: MembershipOutOfBand, entry: LogEntry): SqlStatement[] => {
  const stateKey = typeof record.pdu.state_key === 'string' ? record.pdu.state_key : '';
  const depth = typeof record.pdu.depth === 'number' ? record.pdu.depth : 0;
  return [
    insertEvent(record, entry, depth, null),
    {
      // A room row made out of band (no creator known) takes each invite's view of the room.
      text: `INSERT INTO rooms (room_id, room_version, creator, room_type, log_partition, last_offset, forward_extremities, max_depth, last_event_id,
               room_name, room_avatar, canonical_alias, encrypted)
             VALUES ($1, $2, '', $5, $3, $4, '[]'::jsonb, 0, NULL, $6, $7, $8, $9)
             ON CONFLICT (room_id) DO UPDATE SET room_type = EXCLUDED.room_type, room_name = EXCLUDED.room_name,
               room_avatar = EXCLUDED.room_avatar, canonical_alias = EXCLUDED.canonical_alias, encrypted = EXCLUDED.encrypted
             WHERE rooms.creator = ''`,
      values: [record.roomId, record.roomVersion, entry.partition, entry.offset, ...strippedSummary(record.strippedState)],
    },
    {
      text: 'INSERT INTO room_stripped_state (event_id, room_id, events) VALUES ($1, $2, $3::jsonb) ON CONFLICT (event_id) DO NOTHING',
      values: [record.eventId, record.roomId, json(withoutNul(record.strippedState))],
    },
    ...stateChangeStatements({ roomId: record.roomId, stateDelta: [{ type: 'm.room.member', stateKey, eventId: record.eventId, replaces: null }] }, entry),
    countsSummary(record.roomId),
  ];
};

/**
 * History from before we joined: a timeline row before everything held, at -(offset + 1), so each
 * later backfill (older history) lands further back. An outlier of the same event (a state event
 * the join's answer carried) becomes this timeline row.
 */
const backfilledStatements = (record: PduBackfilled, entry: LogEntry): SqlStatement[] => {
  const depth = typeof record.pdu.depth === 'number' ? record.pdu.depth : 0;
  const inserted = insertEvent(record, { ...entry, offset: -(entry.offset + 1) }, depth, null);
  return [{
    text: inserted.text.replace('ON CONFLICT (event_id) DO NOTHING',
      'ON CONFLICT (event_id) DO UPDATE SET outlier = false, log_offset = EXCLUDED.log_offset WHERE room_events.outlier'),
    values: inserted.values!,
  }];
};

export const ROOMS_PROJECTION_NAME = 'rooms';

export const roomsProjection: Projection = {
  name: ROOMS_PROJECTION_NAME,
  // 2: redactions apply only as records say the decider decided (pdu.accepted v2); the rebuild
  // also restores events that version 1 redacted on a state m.room.redaction.
  // 3: soft-failed events are held (as outliers with the state after them).
  // 4: rooms carry their summary (bump stamp, name, avatar, alias, encryption, member counts).
  version: 4,
  topic: ROOM_EVENTS_TOPIC,
  schema: ROOMS_SCHEMA,
  tables: ROOMS_TABLES,
  evolve(entry: LogEntry): SqlStatement[] {
    const record = entry.value;
    if (!isRoomRecord(record)) throw new Error(`rooms projection: not a room record at ${entry.partition}/${entry.offset}`);
    switch (record.type) {
      case 'pdu.accepted':
        return acceptedStatements(record, entry);
      // Soft-failed events stay out of timelines and state, held as outliers with the state after
      // them (later events of their sender cite them); rejected ones are only remembered by the writer.
      case 'pdu.softFailed':
        return [insertEvent(record, entry, typeof record.pdu.depth === 'number' ? record.pdu.depth : 0, null)];
      case 'pdu.rejected':
        return [];
      case 'pdu.outlier':
        return outlierStatements(record, entry);
      case 'state.imported':
        return importedStatements(record, entry);
      case 'membership.outOfBand':
        return outOfBandStatements(record, entry);
      case 'pdu.backfilled':
        return backfilledStatements(record, entry);
    }
  },
};
