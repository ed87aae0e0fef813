/**
 * `POST /search` for `room_events` (search.yaml): full-text search over the rooms the user is or
 * was in, each event judged by history visibility and the user's membership at it (a user who left
 * finds nothing said after), without events of ignored users or redacted content.
 */
import { isJsonObject, type JsonObject } from '../../json.ts';
import type { Clock } from '../../ports/accounts.ts';
import type { RoomDirectory, RoomReadModel, StoredEvent } from '../../ports/rooms.ts';
import type { SearchHit, SearchReadModel, SearchScope } from '../../ports/search.ts';
import {
  clientEvent, ignoredBy, roomToken, windowOf, withoutIgnored, type UserPreferences, type Viewer,
} from '../rooms/index.ts';
import { decodeBatch, encodeBatch, parseSearchRequest, type SearchRequest } from './request.ts';
import { searchTerms } from './terms.ts';

export interface SearchContext {
  readonly rooms: RoomReadModel;
  readonly directory: Pick<RoomDirectory, 'forgottenRooms'>;
  readonly search: SearchReadModel;
  readonly clock: Clock;
  /** Ignored users; absent: nobody is ignored. */
  readonly preferences?: UserPreferences;
}

export interface Searcher {
  readonly userId: string;
  readonly deviceId: string | null;
}

export interface SearchService {
  /** `body`: the request body; `nextBatch`: the query's `next_batch`. */
  search(searcher: Searcher, body: unknown, nextBatch: string | undefined): Promise<JsonObject>;
}

/** Rooms whose past the user may have seen: joined now, or joined once (windowOf decides). */
const SEARCHED_MEMBERSHIPS = ['join', 'leave', 'ban'];
const HISTORIES_AT_ONCE = 4;

/** The visible ranges of every room searched, and per room for context reads. */
const scopesOf = async (ctx: SearchContext, userId: string, request: SearchRequest): Promise<Map<string, readonly SearchScope[]>> => {
  const forgotten = new Set(await ctx.directory.forgottenRooms(userId));
  const wanted = request.rooms === undefined ? undefined : new Set(request.rooms);
  const excluded = new Set(request.notRooms);
  const roomIds = (await ctx.rooms.roomsWithMembership(userId, SEARCHED_MEMBERSHIPS))
    .filter((roomId) => !forgotten.has(roomId) && !excluded.has(roomId) && (wanted === undefined || wanted.has(roomId)));
  const scopes = new Map<string, readonly SearchScope[]>();
  const load = async (roomId: string): Promise<void> => {
    let visible;
    try {
      visible = windowOf(await ctx.rooms.visibilityHistory(roomId, userId), roomId, userId).visible;
    } catch {
      // Never joined (a rejected invite) and not world-readable: nothing to search there.
      return;
    }
    if (visible.length > 0) scopes.set(roomId, visible.map((range) => ({ roomId, from: range.from, to: range.to })));
  };
  // A few rooms' histories at a time: one statement each, without taking every pooled connection.
  for (let start = 0; start < roomIds.length; start += HISTORIES_AT_ONCE) {
    await Promise.all(roomIds.slice(start, start + HISTORIES_AT_ONCE).map(load));
  }
  return scopes;
};

/**
 * search.yaml `profile_info`: each sender's profile as their membership event at the hit gave it
 * (one membership history per sender, not the room's whole member list).
 */
const profileInfo = async (ctx: SearchContext, event: StoredEvent, events: readonly StoredEvent[]): Promise<JsonObject> => {
  const info: JsonObject = {};
  await Promise.all([...new Set(events.map((e) => e.sender))].map(async (sender) => {
    const change = (await ctx.rooms.membershipHistory(event.roomId, sender)).findLast((c) => c.offset <= event.offset);
    const member = change === undefined ? undefined : await ctx.rooms.event(change.eventId);
    if (member === undefined) return;
    const content = isJsonObject(member.pdu.content) ? member.pdu.content : {};
    info[sender] = {
      ...(typeof content.displayname === 'string' ? { displayname: content.displayname } : {}),
      ...(typeof content.avatar_url === 'string' ? { avatar_url: content.avatar_url } : {}),
    };
  }));
  return info;
};

/** search.yaml EventContext: visible events around the hit, nearest first, with tokens to page on. */
const contextOf = async (
  ctx: SearchContext, request: SearchRequest, hit: SearchHit, scopes: readonly SearchScope[], ignored: ReadonlySet<string>,
  viewer: Viewer, now: number,
): Promise<JsonObject> => {
  const context = request.eventContext!;
  const { event } = hit;
  const around = await ctx.rooms.around(event.roomId, event.offset, context.beforeLimit, context.afterLimit, undefined, scopes);
  const before = withoutIgnored(around.before, ignored);
  const after = withoutIgnored(around.after, ignored);
  const first = around.before[around.before.length - 1] ?? event;
  const last = around.after[around.after.length - 1] ?? event;
  return {
    events_before: before.map((e) => clientEvent(e, viewer, now)),
    events_after: after.map((e) => clientEvent(e, viewer, now)),
    start: roomToken(first.offset),
    end: roomToken(last.offset + 1),
    ...(context.includeProfile ? { profile_info: await profileInfo(ctx, event, [...before, event, ...after]) } : {}),
  };
};

/** The current state of a room still joined; for one left, the state when the user left. */
const stateOf = async (ctx: SearchContext, roomId: string, scopes: readonly SearchScope[], joined: boolean): Promise<StoredEvent[]> =>
  (joined ? ctx.rooms.currentState(roomId) : ctx.rooms.stateAt(roomId, scopes[scopes.length - 1]!.to - 1));

const groupsOf = (hits: readonly SearchHit[], key: 'room_id' | 'sender', nextBatch: string | undefined): JsonObject => {
  const groups = new Map<string, string[]>();
  for (const { event } of hits) {
    const value = key === 'room_id' ? event.roomId : event.sender;
    groups.set(value, [...(groups.get(value) ?? []), event.eventId]);
  }
  const answer: JsonObject = {};
  let order = 0;
  for (const [value, results] of groups) {
    answer[value] = { results, order: order++, ...(nextBatch === undefined ? {} : { next_batch: nextBatch }) };
  }
  return answer;
};

const roomEvents = async (ctx: SearchContext, searcher: Searcher, request: SearchRequest, batchText: string | undefined): Promise<JsonObject> => {
  const batch = batchText === undefined ? undefined : decodeBatch(batchText, request.orderBy);
  const terms = searchTerms(request.searchTerm);
  const empty = { results: [], count: 0, highlights: [] };
  if (terms.tsquery === undefined || request.limit === 0) return empty;
  const [scopes, ignored] = await Promise.all([scopesOf(ctx, searcher.userId, request), ignoredBy(ctx.preferences, searcher.userId)]);
  const { hits, count, more } = await ctx.search.search({
    tsquery: terms.tsquery,
    keys: request.keys,
    scopes: [...scopes.values()].flat(),
    ...(request.senders === undefined ? {} : { senders: request.senders }),
    notSenders: request.notSenders,
    ...(request.types === undefined ? {} : { types: request.types }),
    notTypes: request.notTypes,
    ...(request.containsUrl === undefined ? {} : { containsUrl: request.containsUrl }),
    ignored: [...ignored],
    orderBy: request.orderBy,
    ...(batch === undefined ? {} : { after: batch }),
    limit: request.limit,
  });
  const lastHit = hits[hits.length - 1];
  let nextBatch: string | undefined;
  if (lastHit !== undefined && hits.length === request.limit && more) {
    const skipped = batch !== undefined && 'skip' in batch ? batch.skip : 0;
    if (request.orderBy === 'recent') nextBatch = encodeBatch({ ts: lastHit.event.originServerTs, eventId: lastHit.event.eventId });
    else nextBatch = encodeBatch({ skip: skipped + hits.length });
  }
  const viewer: Viewer = { userId: searcher.userId, deviceId: searcher.deviceId };
  const now = ctx.clock.now();
  const results: JsonObject[] = [];
  for (const hit of hits) {
    results.push({
      rank: hit.rank,
      result: clientEvent(hit.event, viewer, now),
      ...(request.eventContext === undefined ? {} : { context: await contextOf(ctx, request, hit, scopes.get(hit.event.roomId) ?? [], ignored, viewer, now) }),
    });
  }
  const answer: JsonObject = {
    results,
    count,
    highlights: [...new Set([...hits.flatMap((hit) => hit.highlights), ...terms.words])],
  };
  if (nextBatch !== undefined) answer.next_batch = nextBatch;
  if (request.groupBy.length > 0) answer.groups = Object.fromEntries(request.groupBy.map((key) => [key, groupsOf(hits, key, nextBatch)]));
  if (request.includeState) {
    const state: JsonObject = {};
    const joined = new Set(await ctx.rooms.roomsWithMembership(searcher.userId, ['join']));
    for (const roomId of new Set(hits.map((hit) => hit.event.roomId))) {
      state[roomId] = (await stateOf(ctx, roomId, scopes.get(roomId) ?? [], joined.has(roomId))).map((e) => clientEvent(e, viewer, now));
    }
    answer.state = state;
  }
  return answer;
};

export const createSearch = (ctx: SearchContext): SearchService => ({
  async search(searcher, body, nextBatch) {
    const request = parseSearchRequest(body);
    return { search_categories: { room_events: await roomEvents(ctx, searcher, request, nextBatch) } };
  },
});
