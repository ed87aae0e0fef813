/**
 * The searches `bench search` asks both servers, as `POST /search` bodies. Words are picked by
 * their frequency rank in the corpus's vocabulary (words.ts), so "common" and "rare" mean the same
 * on every run and size.
 */
import { wordOfRank } from '../analytics/words.ts';

export interface SearchKind {
  readonly name: string;
  readonly term: string;
  readonly orderBy: 'rank' | 'recent';
  /** Only the corpus's largest room (a `filter.rooms`). */
  readonly largestRoomOnly?: boolean;
  /** The second page: `next_batch` of the first page, fetched once beforehand. */
  readonly secondPage?: boolean;
  /** Why the servers' counts may differ for this kind, when they may. */
  readonly countsMayDiffer?: string;
}

/** Page size of every search (Synapse's and Strata's default filter limit is 10). */
export const PAGE = 10;

export const searchKinds = (): SearchKind[] => {
  const prefix = wordOfRank(7).slice(0, 4);
  return [
    { name: 'common word (rank)', term: wordOfRank(0), orderBy: 'rank' },
    { name: 'rare word (rank)', term: wordOfRank(2000), orderBy: 'rank' },
    { name: 'two words (rank)', term: `${wordOfRank(1)} ${wordOfRank(12)}`, orderBy: 'rank' },
    {
      name: `prefix "${prefix}" (rank)`, term: prefix, orderBy: 'rank',
      countsMayDiffer: 'Strata matches the last word as a prefix; Synapse on PostgreSQL (websearch_to_tsquery) matches whole words only',
    },
    { name: 'common word, one room (rank)', term: wordOfRank(0), orderBy: 'rank', largestRoomOnly: true },
    { name: 'common word (recent)', term: wordOfRank(0), orderBy: 'recent' },
    { name: 'mid word (recent)', term: wordOfRank(50), orderBy: 'recent' },
    { name: 'mid word, page 2 (recent)', term: wordOfRank(50), orderBy: 'recent', secondPage: true },
  ];
};

export const searchBody = (kind: SearchKind, largestRoomId: string): Record<string, unknown> => ({
  search_categories: {
    room_events: {
      search_term: kind.term,
      order_by: kind.orderBy,
      filter: { limit: PAGE, ...(kind.largestRoomOnly === true ? { rooms: [largestRoomId] } : {}) },
    },
  },
});

/** `count`, result ids and `next_batch` of a search answer. */
export const searchAnswer = (body: Record<string, unknown>): { count: number | undefined; eventIds: string[]; nextBatch: string | undefined } => {
  const roomEvents = ((body.search_categories as Record<string, unknown> | undefined)?.room_events ?? {}) as Record<string, unknown>;
  const results = Array.isArray(roomEvents.results) ? roomEvents.results as { result?: { event_id?: unknown } }[] : [];
  return {
    count: typeof roomEvents.count === 'number' ? roomEvents.count : undefined,
    eventIds: results.map((r) => r.result?.event_id).filter((id): id is string => typeof id === 'string'),
    nextBatch: typeof roomEvents.next_batch === 'string' ? roomEvents.next_batch : undefined,
  };
};
