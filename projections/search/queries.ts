/**
 * Searching search_events (SearchReadModel, domain/ports/search.ts). The searcher's visible offset
 * ranges are joined in SQL, so a page is never emptied by filtering afterwards, and the event must
 * still carry the field in room_events (redacted, erased or purged events drop out at once).
 */
import type { SearchHit, SearchQuery, SearchReadModel, SqlExecutor, SqlParam } from '../../domain/index.ts';
import { EVENT_COLUMNS, hydrate, type EventRow } from '../rooms/index.ts';
import { DEFAULT_SEARCH_LANGUAGE, languageLiteral, type SearchLanguage } from './projection.ts';

/** Marks around matched words in ts_headline's output: control characters no word contains. */
const START = '\u0002';
const STOP = '\u0003';
const HEADLINE_OPTIONS = `StartSel=${START}, StopSel=${STOP}, HighlightAll=true`;

/** A Matrix filter's type pattern (`*` any run of characters) as a LIKE pattern. */
const likePattern = (pattern: string): string => pattern.replace(/[\\%_]/g, (c) => `\\${c}`).replace(/\*/g, '%');

interface MatchRow {
  event_id: string;
  rank: number | string;
  headline: string | null;
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

const matching = (query: SearchQuery, values: SqlParam[], language: string): string => {
  const param = (value: SqlParam): string => {
    values.push(value);
    return `$${values.length}`;
  };
  const scopes = `unnest(${param(query.scopes.map((s) => s.roomId))}::text[], ${param(query.scopes.map((s) => s.from))}::bigint[],
    ${param(query.scopes.map((s) => s.to))}::bigint[]) AS v(room_id, lo, hi)`;
  const conditions = [
    `s.vector @@ to_tsquery(${language}, ${param(query.tsquery)})`,
    `s.key = ANY(${param([...query.keys])}::text[])`,
    `(r.pdu->'content'->>split_part(s.key, '.', 2)) IS NOT NULL`,
  ];
  if (query.senders !== undefined) conditions.push(`s.sender = ANY(${param([...query.senders])}::text[])`);
  if (query.notSenders.length > 0) conditions.push(`NOT (s.sender = ANY(${param([...query.notSenders])}::text[]))`);
  if (query.types !== undefined) conditions.push(`s.type LIKE ANY(${param(query.types.map(likePattern))}::text[])`);
  if (query.notTypes.length > 0) conditions.push(`NOT (s.type LIKE ANY(${param(query.notTypes.map(likePattern))}::text[]))`);
  if (query.containsUrl !== undefined) conditions.push(`${query.containsUrl ? '' : 'NOT '}(jsonb_typeof(r.pdu->'content'->'url') IS NOT DISTINCT FROM 'string')`);
  // "Servers must still send state events sent by ignored users" (ignore_users.md).
  if (query.ignored.length > 0) conditions.push(`(s.is_state OR NOT (s.sender = ANY(${param([...query.ignored])}::text[])))`);
  return `FROM search_events s
    JOIN ${scopes} ON v.room_id = s.room_id
    JOIN room_events r ON r.event_id = s.event_id AND r.log_offset >= v.lo AND r.log_offset < v.hi
    WHERE ${conditions.join(' AND ')}`;
};

/** `language`: the search projection's (its vectors were made in it). */
export const createSearchQueries = (db: SqlExecutor, language: SearchLanguage = DEFAULT_SEARCH_LANGUAGE): SearchReadModel => {
  const literal = languageLiteral(language);
  return { async search(query) {
    if (query.scopes.length === 0 || query.keys.length === 0) return { hits: [], count: 0 };
    const countValues: SqlParam[] = [];
    const counted = await db.query<{ count: number | string }>(`SELECT count(*) AS count ${matching(query, countValues, literal)}`, countValues);
    const values: SqlParam[] = [];
    const from = matching(query, values, literal);
    const after = query.after;
    let page = '';
    if (after !== undefined && 'ts' in after) {
      values.push(after.ts, after.eventId);
      page = ` AND (s.origin_server_ts, s.event_id) < ($${values.length - 1}::bigint, $${values.length}::text)`;
    }
    const order = query.orderBy === 'rank'
      ? 'ORDER BY rank DESC, s.origin_server_ts DESC, s.event_id DESC'
      : 'ORDER BY s.origin_server_ts DESC, s.event_id DESC';
    values.push(query.limit, after !== undefined && 'skip' in after ? after.skip : 0);
    const limits = `LIMIT $${values.length - 1} OFFSET $${values.length}`;
    // The headline only for the page: ts_headline re-parses the text. $4 is the tsquery (matching's fourth parameter).
    const { rows } = await db.query<MatchRow>(
      `SELECT page.event_id, page.rank,
              ts_headline(${literal}, page.value, to_tsquery(${literal}, page.tsquery), '${HEADLINE_OPTIONS}') AS headline
         FROM (SELECT s.event_id, ts_rank(s.vector, to_tsquery(${literal}, $4)) AS rank, s.origin_server_ts,
                      r.pdu->'content'->>split_part(s.key, '.', 2) AS value, $4::text AS tsquery
               ${from}${page} ${order} ${limits}) AS page
        ORDER BY ${query.orderBy === 'rank' ? 'page.rank DESC, ' : ''}page.origin_server_ts DESC, page.event_id DESC`,
      values,
    );
    const events = await db.query<EventRow>(`SELECT ${EVENT_COLUMNS} FROM room_events WHERE event_id = ANY($1::text[])`, [rows.map((row) => row.event_id)]);
    const stored = new Map((await hydrate(db, events.rows)).map((event) => [event.eventId, event]));
    const hits: SearchHit[] = [];
    for (const row of rows) {
      const event = stored.get(row.event_id);
      if (event !== undefined) hits.push({ event, rank: Number(row.rank), highlights: markedWords(row.headline) });
    }
    return { hits, count: Number(counted.rows[0]?.count ?? 0) };
  } };
};
