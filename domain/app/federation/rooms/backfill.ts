/**
 * Backfilling (server-server-api § Backfilling and retrieving missing events): when a client pages
 * back past the earliest event we hold and that event cites events we never had (a room we joined
 * through another server), ask the room's other servers for the history before it. What they give
 * is checked by the room writer and lands in the timeline before everything held.
 */
import { BoundedMap } from '../../../boundedMap.ts';
import { roomEventOfAcceptedPdu, toRoomEvent } from '../../../events/index.ts';
import { isUserId, userServerName, type UserId } from '../../../ids/index.ts';
import { isJsonObject } from '../../../json.ts';
import type { BackfillReadModel } from '../../../ports/backfill.ts';
import type { FederationRoomsContext } from './context.ts';

/** Earliest events whose prev events are looked at; servers asked in turn; events asked for at most. */
const EDGE_EVENTS = 20;
const MAX_SERVERS = 5;
const MAX_BACKFILL = 100;
/** After a room's backfill found nothing or failed, pages do not ask again for a while. */
const QUIET_MS = 30_000;

export type Backfill = (roomId: string, limit: number) => Promise<boolean>;

export const createBackfill = (ctx: FederationRoomsContext, history: BackfillReadModel, onError: (error: unknown) => void): Backfill => {
  const quietUntil = new BoundedMap<string, number>(10_000);
  const running = new Map<string, Promise<boolean>>();

  const backfill = async (roomId: string, limit: number): Promise<boolean> => {
    const state = await ctx.writer.state(roomId);
    if (state === undefined || state.rules === null) return false;
    const rules = state.rules;
    const edge = await history.earliestEvents(roomId, EDGE_EVENTS);
    const cited = [...new Set(edge.flatMap((event) => roomEventOfAcceptedPdu(event.pdu, rules, event.eventId).prevEventIds))];
    const held = await history.timelineEventIds(cited);
    const missing = cited.filter((id) => !held.has(id));
    if (missing.length === 0) return false;
    const servers = new Set<string>();
    for (const event of state.stateEvents.values()) {
      if (event.type === 'm.room.member' && event.content.membership === 'join' && event.stateKey !== undefined && isUserId(event.stateKey)) {
        const server = userServerName(event.stateKey as UserId);
        if (server !== ctx.serverName) servers.add(server);
      }
    }
    for (const server of [...servers].slice(0, MAX_SERVERS)) {
      try {
        const pdus = (await ctx.remoteRooms.backfill(server, roomId, missing.slice(0, EDGE_EVENTS), Math.min(Math.max(limit, 10), MAX_BACKFILL)))
          .filter(isJsonObject).slice(0, MAX_BACKFILL);
        const ids = pdus.map((pdu) => toRoomEvent(pdu, rules)).flatMap((parsed) => (parsed.ok ? [parsed.value.eventId] : []));
        const known = await history.timelineEventIds(ids);
        const fresh = pdus.filter((pdu) => {
          const parsed = toRoomEvent(pdu, rules);
          return parsed.ok && parsed.value.roomId === roomId && !known.has(parsed.value.eventId);
        });
        if (fresh.length === 0) continue;
        if ((await ctx.writer.storeBackfilled(roomId, fresh)).stored > 0) return true;
      } catch (error) {
        onError(error);
      }
    }
    return false;
  };

  return async (roomId, limit) => {
    if ((quietUntil.get(roomId) ?? 0) > ctx.now()) return false;
    const pending = running.get(roomId);
    if (pending !== undefined) return pending;
    const attempt = backfill(roomId, limit).finally(() => running.delete(roomId));
    running.set(roomId, attempt);
    const filled = await attempt.catch((error: unknown) => {
      onError(error);
      return false;
    });
    if (!filled) quietUntil.set(roomId, ctx.now() + QUIET_MS);
    return filled;
  };
};
