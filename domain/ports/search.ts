/** The full-text read model (projections/search): which events match a query, as one user may see them. */
import type { StoredEvent } from './rooms.ts';

/** Offsets [from, to) of a room's partition whose events the searcher may see. */
export interface SearchScope {
  readonly roomId: string;
  readonly from: number;
  readonly to: number;
}

export interface SearchQuery {
  /** A to_tsquery expression built from the search term (domain/app/search/terms.ts). */
  readonly tsquery: string;
  /** Which content fields: `content.body`, `content.name`, `content.topic`. */
  readonly keys: readonly string[];
  /** Every visible range of every room searched; nothing outside them matches. */
  readonly scopes: readonly SearchScope[];
  readonly senders?: readonly string[];
  readonly notSenders: readonly string[];
  readonly types?: readonly string[];
  readonly notTypes: readonly string[];
  /** RoomEventFilter `contains_url`: only events whose content has a `url` (true) or has none (false). */
  readonly containsUrl?: boolean;
  /** Senders whose non-state events the searcher ignores. */
  readonly ignored: readonly string[];
  readonly orderBy: 'rank' | 'recent';
  /** `rank`: results to skip; `recent`: results strictly older than this (timestamp, event id). */
  readonly after?: { readonly skip: number } | { readonly ts: number; readonly eventId: string };
  readonly limit: number;
}

export interface SearchHit {
  readonly event: StoredEvent;
  readonly rank: number;
  /** The words of the event that matched the query. */
  readonly highlights: readonly string[];
}

export interface SearchReadModel {
  /**
   * One page of hits, best (or newest) first, and about how many hits there are in all; `more`:
   * whether a page may follow (by rank, the order may cover fewer hits than `count`).
   */
  search(query: SearchQuery): Promise<{ readonly hits: readonly SearchHit[]; readonly count: number; readonly more: boolean }>;
}
