/**
 * Searching search_events (SearchReadModel, domain/ports/search.ts). The searcher's visible offset
 * ranges and every filter are matched on search_events alone, so counting and ranking cost the hits'
 * rows of that table, never their events. Only the page's candidates are read from room_events: one
 * whose field is gone there (redacted before the projection applied the redaction) is passed over.
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

/**
 * Candidates read beyond the page: the redactions the projection may not have applied yet. More of
 * them in one page's window than this only shortens that page.
 */
export const REDACTION_SLACK = 20;

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
  ];
  if (query.senders !== undefined) conditions.push(`s.sender = ANY(${param([...query.senders])}::text[])`);
  if (query.notSenders.length > 0) conditions.push(`NOT (s.sender = ANY(${param([...query.notSenders])}::text[]))`);
  if (query.types !== undefined) conditions.push(`s.type LIKE ANY(${param(query.types.map(likePattern))}::text[])`);
  if (query.notTypes.length > 0) conditions.push(`NOT (s.type LIKE ANY(${param(query.notTypes.map(likePattern))}::text[]))`);
  if (query.containsUrl !== undefined) conditions.push(`${query.containsUrl ? '' : 'NOT '}s.contains_url`);
  // "Servers must still send state events sent by ignored users" (ignore_users.md).
  if (query.ignored.length > 0) conditions.push(`(s.is_state OR NOT (s.sender = ANY(${param([...query.ignored])}::text[])))`);
  return `FROM search_events s
    JOIN ${scopes} ON v.room_id = s.room_id
      AND s.log_offset >= v.lo AND s.log_offset < v.hi
    WHERE ${conditions.join(' AND ')}`;
};

/** `language`: the search projection's (its vectors were made in it). */
export const createSearchQueries = (db: SqlExecutor, language: SearchLanguage = DEFAULT_SEARCH_LANGUAGE): SearchReadModel => {
  const literal = languageLiteral(language);
  return { async search(query) {
    if (query.scopes.length === 0 || query.keys.length === 0) return { hits: [], count: 0 };
    const countValues: SqlParam[] = [];
    const counting = db.query<{ count: number | string }>(`SELECT count(*) AS count ${matching(query, countValues, literal)}`, countValues);
    const values: SqlParam[] = [];
    const from = matching(query, values, literal);
    const after = query.after;
    let page = '';
    if (after !== undefined && 'ts' in after) {
      values.push(after.ts, after.eventId);
      page = ` AND (s.origin_server_ts, s.event_id) < ($${values.length - 1}::bigint, $${values.length}::text)`;
    }
    const order = (alias: string, ranked: string): string =>
      `ORDER BY ${query.orderBy === 'rank' ? `${ranked} DESC, ` : ''}${alias}.origin_server_ts DESC, ${alias}.event_id DESC`;
    const skip = after !== undefined && 'skip' in after ? after.skip : 0;
    values.push(skip + query.limit + REDACTION_SLACK, query.limit, skip);
    const [candidates, limit, offset] = [values.length - 2, values.length - 1, values.length].map((n) => `$${n}`);
    // Ranking costs each hit's vector (ts_rank), once ordered by rank; the PDU and the headline
    // (ts_headline re-parses the text) only the candidates'. The hits are matched apart (OFFSET 0
    // keeps the planner from sorting them before the scopes' join), so the candidates come from a
    // bounded top-N sort. $4 is the tsquery (matching's fourth parameter).
    const rank = (alias: string): string => `ts_rank(${alias}.vector, to_tsquery(${literal}, $4))`;
    const byRank = query.orderBy === 'rank';
    // The count and the page at once: each its own statement, on a pool each its own connection.
    const [counted, { rows }] = await Promise.all([counting, db.query<MatchRow>(
      `SELECT page.event_id, page.rank,
              ts_headline(${literal}, page.value, to_tsquery(${literal}, $4), '${HEADLINE_OPTIONS}') AS headline
         FROM (SELECT c.event_id, ${byRank ? 'c.rank' : rank('c')} AS rank, c.origin_server_ts,
                      r.pdu->'content'->>split_part(c.key, '.', 2) AS value
                 FROM (SELECT h.event_id, h.key, h.origin_server_ts, h.vector${byRank ? `, ${rank('h')} AS rank` : ''}
                         FROM (SELECT s.event_id, s.key, s.origin_server_ts, s.vector ${from}${page} OFFSET 0) AS h
                       ${order('h', 'rank')} LIMIT ${candidates}) AS c
                 JOIN room_events r ON r.event_id = c.event_id
                WHERE (r.pdu->'content'->>split_part(c.key, '.', 2)) IS NOT NULL
                ${order('c', 'rank')} LIMIT ${limit} OFFSET ${offset}) AS page
        ${order('page', 'page.rank')}`,
      values,
    )]);
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
