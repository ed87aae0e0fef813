/**
 * What other servers read of our rooms (server-server-api.md § Retrieving events, § Backfilling
 * and retrieving missing events, § Authentication, timestamp_to_event): events by id, the state
 * and auth chain at an event, backward walks of the DAG, the event nearest a time.
 *
 * Events are served as stored: signed PDUs in their room version's format, redacted when they were
 * redacted or their content erased, or when the room's history visibility hides them from the
 * asker (roomReadsVisibility.ts); rejected events are never held, so never served. A server
 * reads a room when the room's server ACL allows it and it has a joined member there, or the
 * room's history is world_readable (Synapse's "host in room" check, with peeking over federation
 * for world-readable rooms); otherwise 403. An event of another room than the path's is a 404.
 */
import { MatrixError } from '../../errors.ts';
import { utf8Length } from '../../ids/index.ts';
import { isJsonObject, type JsonObject, type JsonValue } from '../../json.ts';
import type { Clock } from '../../ports/accounts.ts';
import type { RoomEventGraph } from '../../ports/roomEvents.ts';
import type { RelationsReadModel, RoomReadModel, StoredEvent } from '../../ports/rooms.ts';
import { getFederationHierarchy } from './roomReadsHierarchy.ts';
import { stateBeforeEvent } from './roomReadsState.ts';
import { pdusForServer } from './roomReadsVisibility.ts';
import { backfillWalk, missingEventsWalk } from './roomReadsWalks.ts';
import type { ServerAclGuard } from './serverAcl.ts';

export interface FederationRoomReadsContext {
  readonly serverName: string;
  readonly clock: Clock;
  readonly rooms: Pick<RoomReadModel, 'stateEvent' | 'roomInfo' | 'currentState'>;
  readonly graph: RoomEventGraph;
  readonly relations: Pick<RelationsReadModel, 'eventAtTime'>;
  readonly acl: ServerAclGuard;
}

/** Backfill answers at most this many events (Synapse applies no cap; the asker pages on). */
export const MAX_BACKFILL_LIMIT = 100;
/** How many `v` events one backfill may start from: a server's forward extremities, a few at most. */
export const MAX_BACKFILL_SEEDS = 20;
/** get_missing_events: "Defaults to 10"; Synapse answers at most 20. */
export const DEFAULT_MISSING_EVENTS_LIMIT = 10;
export const MAX_MISSING_EVENTS_LIMIT = 20;
/** earliest_events / latest_events: extremities and the events missing their prev events. */
export const MAX_MISSING_EVENTS_IDS = 100;
const MAX_ID_BYTES = 255;

const invalidParam = (message: string): MatrixError => new MatrixError('M_INVALID_PARAM', 400, message);
const missingParam = (message: string): MatrixError => new MatrixError('M_MISSING_PARAM', 400, message);
const badJson = (message: string): MatrixError => new MatrixError('M_BAD_JSON', 400, message);
const notFound = (message: string): MatrixError => new MatrixError('M_NOT_FOUND', 404, message);

/** An id taken from a query string or body: paths are bounded before routing, these here. */
const boundedId = (id: string, name: string): string => {
  if (id === '' || utf8Length(id) > MAX_ID_BYTES) throw invalidParam(`'${name}' must be 1 to ${MAX_ID_BYTES} bytes`);
  return id;
};

const contentOf = (event: StoredEvent | undefined): JsonObject => (isJsonObject(event?.pdu.content) ? event.pdu.content : {});

/** The ACL, then "host in room" or world_readable history; 403 otherwise (an unknown room too: no existence leak). */
export const assertServerMayRead = async (ctx: FederationRoomReadsContext, roomId: string, origin: string): Promise<void> => {
  await ctx.acl.assertServerAllowed(roomId, origin);
  const visibility = await ctx.rooms.stateEvent(roomId, 'm.room.history_visibility', '');
  if (contentOf(visibility).history_visibility === 'world_readable') return;
  if (!(await ctx.graph.serverHasJoinedMember(roomId, origin))) throw new MatrixError('M_FORBIDDEN', 403, `Server ${origin} is not in room ${roomId}`);
};

/** The held event of this room with this id, or 404. */
const eventInRoom = async (ctx: FederationRoomReadsContext, roomId: string, eventId: string): Promise<StoredEvent> => {
  const [event] = await ctx.graph.eventsByIds([eventId]);
  if (event === undefined || event.roomId !== roomId) throw notFound(`Event ${eventId} not found in room ${roomId}`);
  return event;
};

/** Held events of the room among `ids`, in the order of `ids`. */
const eventsOf = async (ctx: FederationRoomReadsContext, roomId: string, ids: readonly string[]): Promise<StoredEvent[]> => {
  const events = new Map((await ctx.graph.eventsByIds(ids)).filter((event) => event.roomId === roomId).map((event) => [event.eventId, event]));
  return ids.flatMap((id) => {
    const event = events.get(id);
    return event === undefined ? [] : [event];
  });
};

/** Their PDUs as stored: state and auth chains are served whole (Synapse filters neither), the asker needs them to check events. */
const pdusOf = async (ctx: FederationRoomReadsContext, roomId: string, ids: readonly string[]): Promise<JsonObject[]> =>
  (await eventsOf(ctx, roomId, ids)).map((event) => event.pdu);

/** Their PDUs as `origin` may see them: redacted where the room's history visibility hides them from it. */
const visiblePdus = async (ctx: FederationRoomReadsContext, roomId: string, origin: string, events: readonly StoredEvent[]): Promise<JsonObject[]> =>
  events.length === 0 ? [] : pdusForServer(await ctx.graph.serverVisibilityHistory(roomId, origin), events);

/** The Transaction shape /event and /backfill answer in (backfill.yaml, events.yaml). */
const transaction = (ctx: FederationRoomReadsContext, pdus: JsonObject[]): JsonObject => ({
  origin: ctx.serverName, origin_server_ts: ctx.clock.now(), pdus,
});

const integerParam = (text: string, name: string): number => {
  if (!/^\d{1,9}$/.test(text)) throw invalidParam(`'${name}' must be a non-negative integer`);
  return Number(text);
};

const stringList = (value: JsonValue | undefined, name: string): string[] => {
  if (value === undefined) throw missingParam(`Missing '${name}'`);
  if (!Array.isArray(value) || !value.every((id) => typeof id === 'string')) throw badJson(`'${name}' must be a list of event ids`);
  if (value.length > MAX_MISSING_EVENTS_IDS) throw badJson(`'${name}' may name at most ${MAX_MISSING_EVENTS_IDS} events`);
  return value.map((id) => {
    if (utf8Length(id) > MAX_ID_BYTES) throw badJson(`'${name}' holds an id longer than ${MAX_ID_BYTES} bytes`);
    return id;
  });
};

const optionalInteger = (value: JsonValue | undefined, name: string, fallback: number): number => {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw badJson(`'${name}' must be an integer`);
  return value;
};

export const getEvent = async (ctx: FederationRoomReadsContext, origin: string, eventId: string): Promise<JsonObject> => {
  const [event] = await ctx.graph.eventsByIds([eventId]);
  if (event === undefined) throw notFound(`Event ${eventId} not found`);
  await assertServerMayRead(ctx, event.roomId, origin);
  return transaction(ctx, await visiblePdus(ctx, event.roomId, origin, [event]));
};

/** The state before the event and the auth chain of that state, as ids. */
const stateAtEvent = async (ctx: FederationRoomReadsContext, origin: string, roomId: string, eventIdText: string) => {
  const eventId = boundedId(eventIdText, 'event_id');
  await assertServerMayRead(ctx, roomId, origin);
  const event = await eventInRoom(ctx, roomId, eventId);
  const state = await stateBeforeEvent(ctx.graph, event);
  // An outlier is held for its id only: this server never placed it in the room's state.
  if (state === undefined) throw notFound(`No state known at event ${eventId}`);
  const stateIds = [...state.values()];
  return { stateIds, authChainIds: await ctx.graph.authChainIds(roomId, stateIds) };
};

export const getStateIds = async (ctx: FederationRoomReadsContext, origin: string, roomId: string, eventId: string): Promise<JsonObject> => {
  const { stateIds, authChainIds } = await stateAtEvent(ctx, origin, roomId, eventId);
  return { pdu_ids: stateIds, auth_chain_ids: authChainIds };
};

export const getState = async (ctx: FederationRoomReadsContext, origin: string, roomId: string, eventId: string): Promise<JsonObject> => {
  const { stateIds, authChainIds } = await stateAtEvent(ctx, origin, roomId, eventId);
  const [pdus, authChain] = await Promise.all([pdusOf(ctx, roomId, stateIds), pdusOf(ctx, roomId, authChainIds)]);
  return { pdus, auth_chain: authChain };
};

export const getEventAuth = async (ctx: FederationRoomReadsContext, origin: string, roomId: string, eventId: string): Promise<JsonObject> => {
  await assertServerMayRead(ctx, roomId, origin);
  await eventInRoom(ctx, roomId, eventId);
  return { auth_chain: await pdusOf(ctx, roomId, await ctx.graph.authChainIds(roomId, [eventId])) };
};

export const backfill = async (
  ctx: FederationRoomReadsContext, origin: string, roomId: string, seeds: readonly string[], limitText: string | undefined,
): Promise<JsonObject> => {
  if (seeds.length === 0) throw missingParam("Missing 'v'");
  if (seeds.length > MAX_BACKFILL_SEEDS) throw invalidParam(`'v' may name at most ${MAX_BACKFILL_SEEDS} events`);
  for (const seed of seeds) boundedId(seed, 'v');
  if (limitText === undefined) throw missingParam("Missing 'limit'");
  const limit = Math.min(integerParam(limitText, 'limit'), MAX_BACKFILL_LIMIT);
  await assertServerMayRead(ctx, roomId, origin);
  const nodes = await backfillWalk(roomId, [...new Set(seeds)], limit, (ids) => ctx.graph.nodes(ids));
  return transaction(ctx, await visiblePdus(ctx, roomId, origin, await eventsOf(ctx, roomId, nodes.map((node) => node.eventId))));
};

export const getMissingEvents = async (ctx: FederationRoomReadsContext, origin: string, roomId: string, body: JsonObject): Promise<JsonObject> => {
  const earliest = stringList(body.earliest_events, 'earliest_events');
  const latest = stringList(body.latest_events, 'latest_events');
  const limit = Math.min(Math.max(optionalInteger(body.limit, 'limit', DEFAULT_MISSING_EVENTS_LIMIT), 0), MAX_MISSING_EVENTS_LIMIT);
  const minDepth = optionalInteger(body.min_depth, 'min_depth', 0);
  await assertServerMayRead(ctx, roomId, origin);
  const nodes = await missingEventsWalk(roomId, earliest, latest, limit, minDepth, (ids) => ctx.graph.nodes(ids));
  return { events: await visiblePdus(ctx, roomId, origin, await eventsOf(ctx, roomId, nodes.map((node) => node.eventId))) };
};

export const timestampToEvent = async (
  ctx: FederationRoomReadsContext, origin: string, roomId: string, tsText: string, dirText: string,
): Promise<JsonObject> => {
  if (!/^-?\d{1,16}$/.test(tsText)) throw invalidParam("'ts' must be an integer");
  if (dirText !== 'f' && dirText !== 'b') throw invalidParam("'dir' must be f or b");
  await assertServerMayRead(ctx, roomId, origin);
  // The whole timeline: a server that may read the room sees all of it (outliers never count).
  const found = await ctx.relations.eventAtTime(roomId, Number(tsText), dirText, {});
  if (found === undefined) throw notFound(`Unable to find event from ${tsText} in direction ${dirText}`);
  return { event_id: found.eventId, origin_server_ts: found.originServerTs };
};

/** The room reads bound to their dependencies once, in the composition root; `origin` is the authenticated asker. */
export interface FederationRoomReads {
  getEvent(origin: string, eventId: string): Promise<JsonObject>;
  getState(origin: string, roomId: string, eventId: string): Promise<JsonObject>;
  getStateIds(origin: string, roomId: string, eventId: string): Promise<JsonObject>;
  getEventAuth(origin: string, roomId: string, eventId: string): Promise<JsonObject>;
  backfill(origin: string, roomId: string, seeds: readonly string[], limit: string | undefined): Promise<JsonObject>;
  getMissingEvents(origin: string, roomId: string, body: JsonObject): Promise<JsonObject>;
  timestampToEvent(origin: string, roomId: string, ts: string, dir: string): Promise<JsonObject>;
  hierarchy(origin: string, roomId: string, suggestedOnly: string | undefined): Promise<JsonObject>;
}

export const createFederationRoomReads = (ctx: FederationRoomReadsContext): FederationRoomReads => ({
  getEvent: (origin, eventId) => getEvent(ctx, origin, eventId),
  getState: (origin, roomId, eventId) => getState(ctx, origin, roomId, eventId),
  getStateIds: (origin, roomId, eventId) => getStateIds(ctx, origin, roomId, eventId),
  getEventAuth: (origin, roomId, eventId) => getEventAuth(ctx, origin, roomId, eventId),
  backfill: (origin, roomId, seeds, limit) => backfill(ctx, origin, roomId, seeds, limit),
  getMissingEvents: (origin, roomId, body) => getMissingEvents(ctx, origin, roomId, body),
  timestampToEvent: (origin, roomId, ts, dir) => timestampToEvent(ctx, origin, roomId, ts, dir),
  hierarchy: (origin, roomId, suggestedOnly) => getFederationHierarchy(ctx, origin, roomId, suggestedOnly),
});
