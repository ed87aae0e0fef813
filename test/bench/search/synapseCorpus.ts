/**
 * The search corpus on Synapse, loaded faster than its client API allows (~100 messages/s): every
 * room is created and its first message sent through the API, then `--api-messages` more; those are
 * real events. The rest are copies of a room's last real message, written into Synapse's own
 * PostgreSQL tables as Synapse writes a message: `events` (stream orderings drawn from Synapse's own
 * `events_stream_seq`, so nothing collides with what Synapse allocates), `event_json` (the template
 * with the corpus message's content, time and a depth of its own), `event_search` (the vector
 * Synapse computes: `to_tsvector('english', body)`), and `event_to_state_groups` (the template's
 * state group, so history visibility is judged as for the template). Synapse recomputes a v3+
 * event's id from its JSON when it reads it and refuses a row that does not match, so each copy's
 * id is its reference hash (which covers the depth and time, not the content). Synapse is
 * restarted afterwards, so its caches and stream positions start from the tables.
 */
import pg from 'pg';
import { referenceHashEventId, roomVersionRules, type JsonObject, type Pdu } from '../../../domain/index.ts';
import { request, withRetry, type HttpOptions, type Session } from '../cs/matrixClient.ts';
import { createCorpus, type CorpusOptions } from '../analytics/corpus.ts';
import { createProgress } from '../analytics/progress.ts';

const ROOM_VERSION = '10';
const RULES = roomVersionRules(ROOM_VERSION)!;
const CS = '/_matrix/client/v3';
const SQL_BATCH = 2000;

interface Template {
  readonly eventId: string;
  readonly json: Pdu;
  readonly formatVersion: number;
  readonly stateGroup: string;
  readonly sender: string;
  depth: number;
}

export interface SynapseLoad {
  readonly apiMessages: number;
  readonly copiedMessages: number;
  readonly rooms: number;
  /** rank of a corpus room → its Synapse room id. */
  readonly roomIds: ReadonlyMap<number, string>;
  readonly seconds: number;
}

/** What Synapse keeps of a message body in event_search (search.py `_clean_value_for_search`). */
const searchable = (content: JsonObject): string | undefined => (typeof content.body === 'string' ? content.body.replace(/\u0000/g, ' ') : undefined);

/** The corpus message without relations: their targets are Strata's events, unknown here. */
const withoutRelation = (content: JsonObject): JsonObject => {
  const { 'm.relates_to': _relation, ...rest } = content;
  return rest;
};

export const loadSynapseCorpus = async (options: {
  readonly http: HttpOptions;
  readonly searcher: Session;
  readonly databaseUrl: string;
  readonly corpus: CorpusOptions;
  readonly apiMessages: number;
  readonly say: (line: string) => void;
}): Promise<SynapseLoad> => {
  const { http, searcher, say } = options;
  const started = performance.now();
  // Pass 1: the rooms the corpus's messages go to, created by the searcher through the API.
  const ranks = new Set<number>();
  const scan = createCorpus(options.corpus);
  for (let record = scan.next(); record !== undefined; record = scan.next()) if (record.message !== undefined) ranks.add(record.message.roomRank);
  const roomIds = new Map<number, string>();
  const creating = createProgress('Synapse: creating rooms through the API', ranks.size);
  for (const rank of ranks) {
    const body = await withRetry(() => request(http, 'POST', `${CS}/createRoom`, {
      token: searcher.accessToken, body: { preset: 'public_chat', room_version: ROOM_VERSION, name: `search bench ${rank}` },
    }));
    roomIds.set(rank, String(body.room_id));
    creating.update(roomIds.size);
  }
  creating.finish(roomIds.size);

  // Pass 2: each room's first message and the first --api-messages through the API, the rest copied.
  const db = new pg.Client({ connectionString: options.databaseUrl });
  await db.connect();
  const templates = new Map<string, Template>();
  const readTemplate = async (eventId: string): Promise<Template> => {
    const row = (await db.query<{ json: string; format_version: number; state_group: string; sender: string; depth: string }>(
      `SELECT j.json, j.format_version, g.state_group, e.sender, e.depth FROM events e JOIN event_json j USING (event_id)
       JOIN event_to_state_groups g USING (event_id) WHERE e.event_id = $1`, [eventId])).rows[0];
    if (row === undefined) throw new Error(`Synapse: the event ${eventId} it answered is not in its tables (or has no state group)`);
    return { eventId, json: JSON.parse(row.json) as Pdu, formatVersion: row.format_version, stateGroup: row.state_group, sender: row.sender, depth: Number(row.depth) };
  };
  let batch: { roomId: string; template: Template; content: JsonObject; body: string; ts: number }[] = [];
  let copied = 0;
  let sent = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    const rows = batch.map(({ roomId, template, content, ts }) => {
      // Depth and time make the copy's reference hash (its id) unique; the content is not hashed.
      template.depth += 1;
      const json: Pdu = { ...template.json, content: withoutRelation(content), depth: template.depth, origin_server_ts: ts, unsigned: { age_ts: ts } };
      return { roomId, json, eventId: referenceHashEventId(json, RULES) as string, template, ts };
    });
    await db.query('BEGIN');
    try {
      const orderings = (await db.query<{ s: string }>(`SELECT nextval('events_stream_seq') AS s FROM generate_series(1, $1)`, [rows.length])).rows.map((r) => r.s);
      const column = <T>(of: (row: (typeof rows)[number], index: number) => T): T[] => rows.map(of);
      await db.query(
        `INSERT INTO events (topological_ordering, event_id, type, room_id, processed, outlier, depth, origin_server_ts, received_ts,
           sender, contains_url, instance_name, stream_ordering)
         SELECT d, id, 'm.room.message', r, true, false, d, ts, ts, s, false, 'master', so
         FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::bigint[]) AS u(d, id, r, ts, s, so)`,
        [column((r) => r.json.depth), column((r) => r.eventId), column((r) => r.roomId), column((r) => r.ts), column((r) => r.template.sender), orderings],
      );
      await db.query(
        `INSERT INTO event_json (event_id, room_id, internal_metadata, json, format_version)
         SELECT id, r, '{}', j, f FROM unnest($1::text[], $2::text[], $3::text[], $4::int[]) AS u(id, r, j, f)`,
        [column((r) => r.eventId), column((r) => r.roomId), column((r) => JSON.stringify(r.json)), column((r) => r.template.formatVersion)],
      );
      await db.query(
        `INSERT INTO event_search (event_id, room_id, key, vector, origin_server_ts, stream_ordering)
         SELECT id, r, 'content.body', to_tsvector('english', b), ts, so FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[]) AS u(id, r, b, ts, so)`,
        [column((r) => r.eventId), column((r) => r.roomId), column((_r, i) => batch[i]!.body), column((r) => r.ts), orderings],
      );
      await db.query(
        'INSERT INTO event_to_state_groups (event_id, state_group) SELECT id, g FROM unnest($1::text[], $2::bigint[]) AS u(id, g)',
        [column((r) => r.eventId), column((r) => r.template.stateGroup)],
      );
      await db.query('COMMIT');
    } catch (error) {
      await db.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
    copied += rows.length;
    batch = [];
  };
  const corpus = createCorpus(options.corpus);
  const progress = createProgress('Synapse: loading messages (API, then copies in its tables)', options.corpus.events);
  try {
    for (let record = corpus.next(); record !== undefined; record = corpus.next()) {
      const message = record.message;
      if (message === undefined) continue;
      const roomId = roomIds.get(message.roomRank)!;
      const body = searchable(message.content);
      const template = templates.get(roomId);
      if (template === undefined || sent < options.apiMessages || body === undefined) {
        const txnId = `search-bench-${sent}`;
        const answer = await withRetry(() => request(http, 'PUT', `${CS}/rooms/${encodeURIComponent(roomId)}/send/m.room.message/${txnId}`, {
          token: searcher.accessToken, body: withoutRelation(message.content),
        }));
        sent += 1;
        templates.set(roomId, await readTemplate(String(answer.event_id)));
      } else {
        batch.push({ roomId, template, content: message.content, body, ts: message.ts });
        if (batch.length >= SQL_BATCH) await flush();
      }
      progress.update(sent + copied + batch.length);
    }
    await flush();
    progress.finish(sent + copied);
  } finally {
    await db.end();
  }
  say(`Synapse: ${sent} messages through the API, ${copied} copied into its tables, ${roomIds.size} rooms`);
  return { apiMessages: sent, copiedMessages: copied, rooms: roomIds.size, roomIds, seconds: (performance.now() - started) / 1000 };
};
