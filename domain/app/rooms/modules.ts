/**
 * The room modules beyond the core that Element uses: relations and threads, timestamp lookup,
 * user directory, room summaries, reporting and mutual rooms, bound to their dependencies; and
 * `withBundledAggregations`, which adds `unsigned.m.relations` to what /messages, /context and
 * /event answer.
 */
import { isJsonObject, type JsonObject } from '../../json.ts';
import type { OffsetRange } from '../../ports/rooms.ts';
import { bundleAggregations, type KnownChildren } from './aggregations.ts';
import type { RoomRequester } from './context.ts';
import type { RoomModulesContext } from './modulesContext.ts';
import { getRelations, getThreads, timestampToEvent, type RelationsRequest, type ThreadsRequest } from './relations.ts';
import { reportEvent, reportRoom, reportUser } from './reports.ts';
import { getRoomSummary } from './roomSummary.ts';
import type { Rooms } from './rooms.ts';
import { mutualRooms, searchUserDirectory } from './userDirectory.ts';
import { visibilityWindow } from './visibility.ts';

type R = RoomRequester;

export interface RoomModules {
  getRelations(requester: R, roomId: string, eventId: string, request: RelationsRequest): Promise<JsonObject>;
  getThreads(requester: R, roomId: string, request: ThreadsRequest): Promise<JsonObject>;
  timestampToEvent(requester: R, roomId: string, ts: string | undefined, dir: string | undefined): Promise<JsonObject>;
  searchUserDirectory(requester: R, body: JsonObject): Promise<JsonObject>;
  mutualRooms(requester: R, userId: string | undefined, from: string | undefined): Promise<JsonObject>;
  getRoomSummary(requester: R | undefined, roomIdOrAlias: string): Promise<JsonObject>;
  reportEvent(requester: R, roomId: string, eventId: string, body: JsonObject): Promise<void>;
  reportRoom(requester: R, roomId: string, body: JsonObject): Promise<void>;
  reportUser(requester: R, userId: string, body: JsonObject): Promise<void>;
  /**
   * Adds bundled aggregations (in place) to client events of one room, as the requester may see
   * them: for /sync timelines, which format events elsewhere. One batch per call. `visible`: the
   * offsets the requester may see, when the caller knows them (else looked up if a child exists).
   * `known`: which events have children, when the read that loaded them probed it (no probe then).
   */
  bundleAggregations(
    requester: R, roomId: string, events: readonly JsonObject[], visible?: readonly OffsetRange[], known?: KnownChildren,
  ): Promise<void>;
}

export const createRoomModules = (ctx: RoomModulesContext): RoomModules => {
  const bundle = async (
    requester: R, roomId: string, events: readonly JsonObject[], visible?: readonly OffsetRange[], known?: KnownChildren,
  ): Promise<void> => {
    await bundleAggregations(ctx, requester, roomId, events, visible !== undefined ? { visible }
      : async () => ({ visible: (await visibilityWindow(ctx, roomId, requester.userId)).visible }), known);
  };
  return {
    getRelations: (r, room, eventId, request) => getRelations(ctx, r, room, eventId, request),
    getThreads: (r, room, request) => getThreads(ctx, r, room, request),
    timestampToEvent: (r, room, ts, dir) => timestampToEvent(ctx, r, room, ts, dir),
    searchUserDirectory: (r, body) => searchUserDirectory(ctx, r, body),
    mutualRooms: (r, userId, from) => mutualRooms(ctx, r, userId, from),
    getRoomSummary: (r, room) => getRoomSummary(ctx, r, room),
    reportEvent: (r, room, eventId, body) => reportEvent(ctx, r, room, eventId, body),
    reportRoom: (r, room, body) => reportRoom(ctx, r, room, body),
    reportUser: (r, userId, body) => reportUser(ctx, r, userId, body),
    bundleAggregations: bundle,
  };
};

const objects = (value: unknown): JsonObject[] => (Array.isArray(value) ? value.filter(isJsonObject) : []);

/**
 * The room use-cases with bundled aggregations on the events of /messages, /context and /event
 * (client-server-api § Aggregations of child events): one batch per response.
 */
export const withBundledAggregations = (rooms: Rooms, modules: Pick<RoomModules, 'bundleAggregations'>): Rooms => ({
  ...rooms,
  async getEvent(r, roomId, eventId) {
    const event = await rooms.getEvent(r, roomId, eventId);
    await modules.bundleAggregations(r, roomId, [event]);
    return event;
  },
  async getMessages(r, roomId, request) {
    const response = await rooms.getMessages(r, roomId, request);
    await modules.bundleAggregations(r, roomId, objects(response.chunk));
    return response;
  },
  async getContext(r, roomId, eventId, limit, filter) {
    const response = await rooms.getContext(r, roomId, eventId, limit, filter);
    const events = [...(isJsonObject(response.event) ? [response.event] : []), ...objects(response.events_before), ...objects(response.events_after)];
    await modules.bundleAggregations(r, roomId, events);
    return response;
  },
});
