/**
 * The search projection: a fold of ROOM_EVENTS_TOPIC into search_events (schema.ts). The text
 * search configuration is part of the projection: vectors are computed when an event is applied, so
 * another language is another version (a rebuild from offset 0).
 */
import {
  ROOM_EVENTS_TOPIC, isJsonObject, isRoomRecord, redactionEffectsOf, type LogEntry, type Pdu, type SqlStatement,
} from '../../domain/index.ts';
import type { Projection } from '../runtime/index.ts';
import { SEARCH_SCHEMA, SEARCH_TABLES } from './schema.ts';

export const SEARCH_PROJECTION_NAME = 'search';

/**
 * PostgreSQL's text search configurations (PGlite ships the same). `simple` lowercases without
 * stemming, so it suits every language equally and is the default; Synapse uses `english`, which
 * stems English words and drops its stop words but mangles other languages. Append only: a
 * language's place is part of the projection's version.
 */
export const SEARCH_LANGUAGES = [
  'simple', 'arabic', 'armenian', 'basque', 'catalan', 'danish', 'dutch', 'english', 'finnish', 'french', 'german', 'greek',
  'hindi', 'hungarian', 'indonesian', 'irish', 'italian', 'lithuanian', 'nepali', 'norwegian', 'portuguese', 'romanian',
  'russian', 'serbian', 'spanish', 'swedish', 'tamil', 'turkish', 'yiddish',
] as const;
export type SearchLanguage = (typeof SEARCH_LANGUAGES)[number];
export const DEFAULT_SEARCH_LANGUAGE: SearchLanguage = 'simple';

/** The language as an SQL literal: only one of the list above ever reaches a statement. */
export const languageLiteral = (language: SearchLanguage): string => {
  if (!SEARCH_LANGUAGES.includes(language)) throw new Error(`unknown text search configuration ${String(language)}`);
  return `'${language}'::regconfig`;
};

/** Bump when evolve or the schema changes meaning. 2: rows carry their log offset and `url` presence. */
const SEARCH_PROJECTION_VERSION = 2;

/** The content field each searchable event type carries (Synapse's event_search keys). */
export const SEARCH_KEYS: Readonly<Record<string, string>> = {
  'm.room.message': 'content.body',
  'm.room.name': 'content.name',
  'm.room.topic': 'content.topic',
};

/** PostgreSQL text holds no U+0000; the word breaks of a tsvector do not care what replaces it. */
const NUL = /\u0000/g;

/**
 * The row statement for an event's searchable field, if it has one (an encrypted event has none).
 * `offset`: the event's place in room_events (projections/rooms), which visible ranges are made of.
 */
const indexed = (language: string, roomId: string, eventId: string, pdu: Pdu, offset: number): SqlStatement[] => {
  const type = pdu.type;
  const key = typeof type === 'string' ? SEARCH_KEYS[type] : undefined;
  if (key === undefined || !isJsonObject(pdu.content)) return [];
  const value = pdu.content[key.slice('content.'.length)];
  if (typeof value !== 'string' || value === '') return [];
  // One row, written as rows (SqlStatement.rows): a batch's rows go in one statement.
  return [{
    text: `INSERT INTO search_events (event_id, room_id, key, sender, type, is_state, origin_server_ts, log_offset, contains_url, vector)
           SELECT e, r, k, s, t, st, ts, o, u, to_tsvector(${language}, v)
           FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::boolean[], $7::bigint[], $8::bigint[], $9::boolean[], $10::text[])
             AS x(e, r, k, s, t, st, ts, o, u, v)
           ON CONFLICT (event_id, key) DO NOTHING`,
    values: [
      [eventId], [roomId], [key], [String(pdu.sender)], [type], [typeof pdu.state_key === 'string'],
      [typeof pdu.origin_server_ts === 'number' ? pdu.origin_server_ts : 0], [offset], [typeof pdu.content.url === 'string'],
      [value.replace(NUL, ' ')],
    ],
    rows: true,
  }];
};

const forgotten = (eventId: string, roomId: string): SqlStatement =>
  ({ text: 'DELETE FROM search_events WHERE event_id = $1 AND room_id = $2', values: [eventId, roomId] });

/** The projection with vectors in `language` (`search_language`). */
export const searchProjectionFor = (language: SearchLanguage = DEFAULT_SEARCH_LANGUAGE): Projection => {
  const literal = languageLiteral(language);
  return {
    name: SEARCH_PROJECTION_NAME,
    // Changing the language changes the version: the next start rebuilds every vector.
    version: SEARCH_PROJECTION_VERSION * 100 + SEARCH_LANGUAGES.indexOf(language),
    topic: ROOM_EVENTS_TOPIC,
    schema: SEARCH_SCHEMA,
    tables: SEARCH_TABLES,
    evolve(entry: LogEntry): SqlStatement[] {
      const record = entry.value;
      if (!isRoomRecord(record)) throw new Error(`search projection: not a room record at ${entry.partition}/${entry.offset}`);
      // Backfilled history sits before everything held, at -(offset + 1), as the rooms projection places it.
      if (record.type === 'pdu.backfilled') return indexed(literal, record.roomId, record.eventId, record.pdu, -(entry.offset + 1));
      if (record.type !== 'pdu.accepted') return [];
      // Redactions apply as the decider judged them (records.ts), the moment they are applied.
      const effects = redactionEffectsOf(record);
      const statements = effects.redacts === undefined ? [] : [forgotten(effects.redacts, record.roomId)];
      if (effects.redactedBy !== undefined) return statements;
      return [...statements, ...indexed(literal, record.roomId, record.eventId, record.pdu, entry.offset)];
    },
  };
};

export const searchProjection: Projection = searchProjectionFor();
