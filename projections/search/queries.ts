/**
 * Searching search_events (SearchReadModel, domain/ports/search.ts). The searcher's visible offset
 * ranges and every filter are matched on search_events alone; only the page's candidates are read
 * from room_events, where one whose field is gone (redacted before the projection applied the
 * redaction) is passed over.
 *
 * The cost follows the page, not the hits:
 * - A probe counts the hits, stopping at `exactCount` + 1. Up to that many, the GIN index finds them
 *   all: `count` is exact and the page a top-N of every hit, by rank or by recency.
 * - Beyond, the word is common among the searched rows, so the newest rows of the searched rooms are
 *   walked back in time (search_events_recent) in growing chunks, each checked against the query,
 *   until the page is full: the fewer the rows per hit, the shorter the walk. By rank, the newest
 *   `rankedCandidates` hits are ranked, as Synapse ranks only its best 500; pages stop there.
 *   `count` ("an approximate count", search.yaml) is then estimated from a block sample of about
 *   `sampleRows` rows (REPEATABLE, so every page of a search gives the same), never below
 *   `exactCount` + 1.
 */
import type { SearchHit, SearchQuery, SearchReadModel, SqlExecutor } from '../../domain/index.ts';
import { EVENT_COLUMNS, hydrate, type EventRow } from '../rooms/index.ts';
import { DEFAULT_SEARCH_LANGUAGE, languageLiteral, type SearchLanguage } from './projection.ts';

/** Marks around matched words in ts_headline's output: control characters no word contains. */
const START = '\u0002';
const STOP = '\u0003';
const HEADLINE_OPTIONS = `StartSel=${START}, StopSel=${STOP}, HighlightAll=true`;

/** A Matrix filter's type pattern (`*` any run of characters) as a LIKE pattern. */
const likePattern = (pattern: string): string => pattern.replace(/[\\%_]/g, (c) => `\\${c}`).replace(/\*/g, '%');

/**
 * Candidates read beyond the page: the redactions the projection may not have applied yet. More of
 * them in one page's window than this only shortens that page.
 */
export const REDACTION_SLACK = 20;

export interface SearchTuning {
  /** Hits counted exactly and ordered all together; beyond, the newest rows are walked. */
  readonly exactCount: number;
  /** By rank beyond `exactCount`: the newest hits ranked. */
  readonly rankedCandidates: number;
  /** Rows sampled to estimate a count beyond `exactCount`. */
  readonly sampleRows: number;
  /** Rows of the first walked chunk; the next are sized by the hits found so far, up to 32 times that. */
  readonly firstChunk: number;
}

export const SEARCH_TUNING: SearchTuning = { exactCount: 10_000, rankedCandidates: 500, sampleRows: 20_000, firstChunk: 2_000 };

interface Candidate {
  readonly eventId: string;
  readonly key: string;
  readonly rank: number;
}

interface HitRow {
  event_id: string;
  key: string;
  rank: number | string;
}

/** The words ts_headline marked, lowercased and distinct. */
export const markedWords = (headline: string | null): string[] => {
  if (headline === null) return [];
  const words = new Set<string>();
  for (const match of headline.matchAll(new RegExp(`${START}([^${STOP}]*)${STOP}`, 'g'))) {
    if (match[1] !== undefined && match[1] !== '') words.add(match[1].toLowerCase());
  }
  return [...words];
};

/**
 * An SQL literal. An escape string (E'…', backslashes and quotes escaped) means the same whatever
 * the server's standard_conforming_strings says, which a plain '…' does not. PostgreSQL text holds
 * no U+0000, so none can match one and it is replaced.
 */
const quoted = (text: string): string =>
  `E'${text.replace(/\\/g, '\\\\').replace(/'/g, "''").replace(/\u0000/g, '\uFFFD')}'`;

const sqlLiteral = (value: string | number | readonly (string | number)[]): string => {
  if (typeof value === 'string') return quoted(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`search: ${value} is no number`);
    return String(value);
  }
  return `ARRAY[${value.map(sqlLiteral).join(', ')}]`;
};

/*
 * Matching statements carry their values as literals (sqlLiteral). A parameterised statement runs
 * prepared (infra/postgres) and after a few runs on a generic plan, planned without the values:
 * the tsquery's selectivity unknown, it picked a sequential scan that reads every row for a rare
 * word (7 s under the bench's load). A statement without parameters is planned for its values.
 */

/** The query's visible ranges and filters on rows of search_events aliased `s`. */
const matching = (query: SearchQuery, tsquery: string, language: string, rooms: string): { join: string; where: string } => {
  const join = `JOIN unnest(${sqlLiteral(query.scopes.map((s) => s.roomId))}::text[], ${sqlLiteral(query.scopes.map((s) => s.from))}::bigint[],
    ${sqlLiteral(query.scopes.map((s) => s.to))}::bigint[]) AS v(room_id, lo, hi) ON v.room_id = s.room_id
      AND s.log_offset >= v.lo AND s.log_offset < v.hi`;
  const conditions = [
    `s.vector @@ to_tsquery(${language}, ${tsquery})`,
    // Implied by the join; stated so the planner sees how few rows the rooms hold.
    `s.room_id = ANY(${rooms}::text[])`,
    `s.key = ANY(${sqlLiteral([...query.keys])}::text[])`,
  ];
  if (query.senders !== undefined) conditions.push(`s.sender = ANY(${sqlLiteral([...query.senders])}::text[])`);
  if (query.notSenders.length > 0) conditions.push(`NOT (s.sender = ANY(${sqlLiteral([...query.notSenders])}::text[]))`);
  if (query.types !== undefined) conditions.push(`s.type LIKE ANY(${sqlLiteral(query.types.map(likePattern))}::text[])`);
  if (query.notTypes.length > 0) conditions.push(`NOT (s.type LIKE ANY(${sqlLiteral(query.notTypes.map(likePattern))}::text[]))`);
  if (query.containsUrl !== undefined) conditions.push(`${query.containsUrl ? '' : 'NOT '}s.contains_url`);
  // "Servers must still send state events sent by ignored users" (ignore_users.md).
  if (query.ignored.length > 0) conditions.push(`(s.is_state OR NOT (s.sender = ANY(${sqlLiteral([...query.ignored])}::text[])))`);
  return { join, where: conditions.join(' AND ') };
};

const roomsOf = (query: SearchQuery): string[] => [...new Set(query.scopes.map((s) => s.roomId))];

/** `language`: the search projection's (its vectors were made in it). */
export const createSearchQueries = (
  db: SqlExecutor, language: SearchLanguage = DEFAULT_SEARCH_LANGUAGE, tuning: SearchTuning = SEARCH_TUNING,
): SearchReadModel => {
  const literal = languageLiteral(language);
  const rankOf = (alias: string, tsquery: string): string => `ts_rank(${alias}.vector, to_tsquery(${literal}, ${tsquery}))`;

  /** The hits, counted up to `exactCount` + 1. */
  const probe = async (query: SearchQuery): Promise<number> => {
    const tsquery = quoted(query.tsquery);
    const { join, where } = matching(query, tsquery, literal, sqlLiteral(roomsOf(query)));
    const { rows } = await db.query<{ count: number | string }>(
      `SELECT count(*) AS count FROM (SELECT 1 FROM search_events s ${join} WHERE ${where} LIMIT ${sqlLiteral(tuning.exactCount + 1)}) AS hit`,
    );
    return Number(rows[0]?.count ?? 0);
  };

  /** Few hits: all of them ordered, the first `wanted`. */
  const everyHit = async (query: SearchQuery, wanted: number): Promise<Candidate[]> => {
    const tsquery = quoted(query.tsquery);
    const { join, where } = matching(query, tsquery, literal, sqlLiteral(roomsOf(query)));
    let page = '';
    if (query.after !== undefined && 'ts' in query.after) {
      page = ` AND (s.origin_server_ts, s.event_id) < (${sqlLiteral(query.after.ts)}::bigint, ${sqlLiteral(query.after.eventId)}::text)`;
    }
    const byRank = query.orderBy === 'rank';
    // OFFSET 0 keeps the planner from sorting the hits before the scopes' join: the order is a top-N.
    const { rows } = await db.query<HitRow>(
      `SELECT h.event_id, h.key, ${byRank ? rankOf('h', tsquery) : '0'} AS rank
         FROM (SELECT s.event_id, s.key, s.origin_server_ts, s.vector FROM search_events s ${join} WHERE ${where}${page} OFFSET 0) AS h
        ORDER BY ${byRank ? 'rank DESC, ' : ''}h.origin_server_ts DESC, h.event_id DESC LIMIT ${sqlLiteral(wanted)}`,
    );
    return rows.map((row) => ({ eventId: row.event_id, key: row.key, rank: Number(row.rank) }));
  };

  /** Many hits: the newest `wanted`, walking the searched rooms' rows back in time. */
  const newestHits = async (query: SearchQuery, wanted: number): Promise<Candidate[]> => {
    const found: Candidate[] = [];
    let before = query.after !== undefined && 'ts' in query.after ? { ts: query.after.ts, eventId: query.after.eventId } : undefined;
    let walked = 0;
    for (let chunk = tuning.firstChunk; ;) {
      const tsquery = quoted(query.tsquery);
      const roomIds = roomsOf(query);
      const rooms = sqlLiteral(roomIds);
      const { join, where } = matching(query, tsquery, literal, rooms);
      // One room by equality: its own index (search_events_room_recent) then gives the order.
      const inRooms = roomIds.length === 1 ? `s.room_id = ${sqlLiteral(roomIds[0]!)}` : `s.room_id = ANY(${rooms}::text[])`;
      const page = before === undefined ? ''
        : ` AND (s.origin_server_ts, s.event_id) < (${sqlLiteral(before.ts)}::bigint, ${sqlLiteral(before.eventId)}::text)`;
      // The walk is a plain index scan (no tsquery to misjudge), fenced off; the query is checked on
      // its rows, and the last row walked is where the next chunk starts.
      const { rows } = await db.query<{ event_id: string; key: string; origin_server_ts: number | string; rank: number | string; walked: number | string | null }>(
        `WITH walked AS MATERIALIZED (
           SELECT s.*, row_number() OVER (ORDER BY s.origin_server_ts DESC, s.event_id DESC) AS position
             FROM search_events s WHERE ${inRooms}${page}
            ORDER BY s.origin_server_ts DESC, s.event_id DESC LIMIT ${sqlLiteral(chunk)})
         SELECT s.event_id, s.key, s.origin_server_ts, ${query.orderBy === 'rank' ? rankOf('s', tsquery) : '0'} AS rank, NULL AS walked, s.position
           FROM walked s ${join} WHERE ${where}
         UNION ALL
         (SELECT event_id, key, origin_server_ts, 0, (SELECT count(*) FROM walked), position FROM walked ORDER BY position DESC LIMIT 1)
         ORDER BY position`,
      );
      const last = rows.find((row) => row.walked !== null);
      for (const row of rows) {
        if (row.walked !== null) continue;
        found.push({ eventId: row.event_id, key: row.key, rank: Number(row.rank) });
        if (found.length === wanted) return found;
      }
      if (last === undefined || Number(last.walked) < chunk) return found;
      before = { ts: Number(last.origin_server_ts), eventId: last.event_id };
      walked += chunk;
      // As many rows as the hits found so far say the rest needs, and a quarter more.
      const needed = found.length === 0 ? chunk * 4 : Math.ceil(((wanted - found.length) * walked * 1.25) / found.length);
      chunk = Math.min(32 * tuning.firstChunk, Math.max(tuning.firstChunk, needed));
    }
  };

  /** About how many hits there are, from a sample of the table's blocks. */
  const estimate = async (query: SearchQuery): Promise<number> => {
    const size = await db.query<{ rows: number | string }>(
      `SELECT greatest(c.reltuples, pg_relation_size(c.oid) / 8192 * 20) AS rows FROM pg_class c WHERE c.oid = 'search_events'::regclass`,
    );
    const percent = Math.min(100, (100 * tuning.sampleRows) / Math.max(1, Number(size.rows[0]?.rows ?? 0)));
    const tsquery = quoted(query.tsquery);
    const { join, where } = matching(query, tsquery, literal, sqlLiteral(roomsOf(query)));
    const { rows } = await db.query<{ count: number | string }>(
      `SELECT count(*) AS count FROM search_events s TABLESAMPLE SYSTEM (${sqlLiteral(percent)}) REPEATABLE (0) ${join} WHERE ${where}`,
    );
    return Math.max(tuning.exactCount + 1, Math.round((Number(rows[0]?.count ?? 0) * 100) / percent));
  };

  /** The page among the candidates (in order): their fields as room_events holds them now, highlighted. */
  const pageOf = async (query: SearchQuery, candidates: readonly Candidate[], skip: number): Promise<SearchHit[]> => {
    if (candidates.length <= skip) return [];
    // The headline (ts_headline re-parses the text) only of the page's rows.
    const { rows } = await db.query<{ event_id: string; rank: number | string; headline: string | null }>(
      `SELECT page.event_id, page.rank, ts_headline(${literal}, page.value, to_tsquery(${literal}, $1), '${HEADLINE_OPTIONS}') AS headline
         FROM (SELECT c.event_id, c.rank, c.position, r.pdu->'content'->>split_part(c.key, '.', 2) AS value
                 FROM unnest($2::text[], $3::text[], $4::float8[]) WITH ORDINALITY AS c(event_id, key, rank, position)
                 JOIN room_events r ON r.event_id = c.event_id
                WHERE (r.pdu->'content'->>split_part(c.key, '.', 2)) IS NOT NULL
                ORDER BY c.position LIMIT $5 OFFSET $6) AS page
        ORDER BY page.position`,
      [query.tsquery, candidates.map((c) => c.eventId), candidates.map((c) => c.key), candidates.map((c) => c.rank), query.limit, skip],
    );
    const events = await db.query<EventRow>(`SELECT ${EVENT_COLUMNS} FROM room_events WHERE event_id = ANY($1::text[])`, [rows.map((row) => row.event_id)]);
    const stored = new Map((await hydrate(db, events.rows)).map((event) => [event.eventId, event]));
    const hits: SearchHit[] = [];
    for (const row of rows) {
      const event = stored.get(row.event_id);
      if (event !== undefined) hits.push({ event, rank: Number(row.rank), highlights: markedWords(row.headline) });
    }
    return hits;
  };

  return { async search(query) {
    if (query.scopes.length === 0 || query.keys.length === 0) return { hits: [], count: 0, more: false };
    const skip = query.after !== undefined && 'skip' in query.after ? query.after.skip : 0;
    const wanted = skip + query.limit + REDACTION_SLACK;
    const probed = await probe(query);
    if (probed <= tuning.exactCount) {
      const hits = await pageOf(query, await everyHit(query, wanted), skip);
      return { hits, count: probed, more: query.orderBy === 'recent' || skip + query.limit < probed };
    }
    if (query.orderBy === 'recent') {
      const [count, candidates] = await Promise.all([estimate(query), newestHits(query, wanted)]);
      return { hits: await pageOf(query, candidates, skip), count, more: true };
    }
    const [count, newest] = await Promise.all([estimate(query), newestHits(query, tuning.rankedCandidates)]);
    // Best first; among equals, newest first (the walk's order, kept by a stable sort).
    const ranked = newest.map((candidate, position) => ({ candidate, position }))
      .sort((a, b) => b.candidate.rank - a.candidate.rank || a.position - b.position).map(({ candidate }) => candidate);
    return { hits: await pageOf(query, ranked.slice(0, wanted), skip), count, more: skip + query.limit < ranked.length };
  } };
};
