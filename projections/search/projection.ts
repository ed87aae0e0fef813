/**
 * The search projection: a fold of ROOM_EVENTS_TOPIC into search_events (schema.ts). The text
 * search configuration is fixed per projection: vectors are computed when an event is applied, so
 * another language means another version (a rebuild from offset 0).
 */
import {
  ROOM_EVENTS_TOPIC, isJsonObject, isRoomRecord, redactionEffectsOf, type LogEntry, type Pdu, type SqlStatement,
} from '../../domain/index.ts';
import type { Projection } from '../runtime/index.ts';
import { SEARCH_SCHEMA, SEARCH_TABLES } from './schema.ts';

export const SEARCH_PROJECTION_NAME = 'search';

/**
 * `simple` lowercases without stemming, so it suits every language equally (Synapse uses
 * `english`, which stems English words and drops its stop words but mangles other languages).
 */
export const SEARCH_LANGUAGE = 'simple';

/** The content field each searchable event type carries (Synapse's event_search keys). */
export const SEARCH_KEYS: Readonly<Record<string, string>> = {
  'm.room.message': 'content.body',
  'm.room.name': 'content.name',
  'm.room.topic': 'content.topic',
};

/** PostgreSQL text holds no U+0000; the word breaks of a tsvector do not care what replaces it. */
const NUL = /\u0000/g;

/** The row statement for an event's searchable field, if it has one (an encrypted event has none). */
const indexed = (roomId: string, eventId: string, pdu: Pdu): SqlStatement[] => {
  const type = pdu.type;
  const key = typeof type === 'string' ? SEARCH_KEYS[type] : undefined;
  if (key === undefined || !isJsonObject(pdu.content)) return [];
  const value = pdu.content[key.slice('content.'.length)];
  if (typeof value !== 'string' || value === '') return [];
  return [{
    text: `INSERT INTO search_events (event_id, room_id, key, sender, type, is_state, origin_server_ts, vector)
           VALUES ($1, $2, $3, $4, $5, $6, $7, to_tsvector('${SEARCH_LANGUAGE}', $8)) ON CONFLICT (event_id, key) DO NOTHING`,
    values: [
      eventId, roomId, key, String(pdu.sender), type, typeof pdu.state_key === 'string',
      typeof pdu.origin_server_ts === 'number' ? pdu.origin_server_ts : 0, value.replace(NUL, ' '),
    ],
  }];
};

const forgotten = (eventId: string, roomId: string): SqlStatement =>
  ({ text: 'DELETE FROM search_events WHERE event_id = $1 AND room_id = $2', values: [eventId, roomId] });

export const searchProjection: Projection = {
  name: SEARCH_PROJECTION_NAME,
  version: 1,
  topic: ROOM_EVENTS_TOPIC,
  schema: SEARCH_SCHEMA,
  tables: SEARCH_TABLES,
  evolve(entry: LogEntry): SqlStatement[] {
    const record = entry.value;
    if (!isRoomRecord(record)) throw new Error(`search projection: not a room record at ${entry.partition}/${entry.offset}`);
    if (record.type === 'pdu.backfilled') return indexed(record.roomId, record.eventId, record.pdu);
    if (record.type !== 'pdu.accepted') return [];
    // Redactions apply as the decider judged them (records.ts), the moment they are applied.
    const effects = redactionEffectsOf(record);
    const statements = effects.redacts === undefined ? [] : [forgotten(effects.redacts, record.roomId)];
    if (effects.redactedBy !== undefined) return statements;
    return [...statements, ...indexed(record.roomId, record.eventId, record.pdu)];
  },
};
