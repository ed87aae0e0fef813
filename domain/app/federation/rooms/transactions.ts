/**
 * Inbound transactions (server-server-api § Transactions, `PUT /send/{txnId}`): each PDU goes
 * through its room's writer, one room's PDUs in the order sent, rooms side by side; EDUs go to
 * their receiver. A PDU whose prev or auth events we lack has them fetched from the sending server
 * first (§ Backfilling and retrieving missing events): its auth chain through `/event_auth`, the
 * gap before it through `/get_missing_events`. A retried transaction gets the first answer.
 */
import { MatrixError } from '../../../errors.ts';
import { eventIdOf, stateKeyOf, toRoomEvent, type Pdu, type RoomEvent, type StateMap } from '../../../events/index.ts';
import { isJsonObject, type JsonObject } from '../../../json.ts';
import { BoundedMap } from '../../../boundedMap.ts';
import type { FederationRoomsContext } from './context.ts';

export const MAX_TRANSACTION_PDUS = 50;
export const MAX_TRANSACTION_EDUS = 100;
/** Rounds of /get_missing_events for one gap, each up to `MISSING_EVENTS_LIMIT` events back. */
const MISSING_EVENTS_ROUNDS = 10;
const MISSING_EVENTS_LIMIT = 20;

export interface EduSink {
  receive(origin: string, edus: readonly unknown[]): Promise<void>;
}

export interface TransactionReceiver {
  receive(origin: string, txnId: string, body: unknown): Promise<JsonObject>;
}

type PduResult = JsonObject;

const errorResult = (error: string): PduResult => ({ error: error.slice(0, 500) });

export const createTransactionReceiver = (ctx: FederationRoomsContext, edus: EduSink | undefined, onError: (error: unknown) => void): TransactionReceiver => {
  /** Recent answers per (origin, txnId): a retry is answered, not processed again. */
  const answered = new BoundedMap<string, Promise<JsonObject>>(10_000);

  const parse = async (roomId: string, pdu: Pdu): Promise<RoomEvent | undefined> => {
    const rules = (await ctx.writer.state(roomId))?.rules;
    if (rules === undefined || rules === null) return undefined;
    const parsed = toRoomEvent(pdu, rules);
    return parsed.ok ? parsed.value : undefined;
  };

  /** The events between what we hold and `event`, oldest first, as the sender gives them. */
  const fetchGap = async (origin: string, roomId: string, event: RoomEvent): Promise<Pdu[]> => {
    const earliest = (await ctx.writer.state(roomId))?.forwardExtremities ?? [];
    const fetched = new Map<string, { pdu: Pdu; depth: number }>();
    let latest = [event.eventId];
    for (let round = 0; round < MISSING_EVENTS_ROUNDS && latest.length > 0; round++) {
      const events = await ctx.remoteRooms.getMissingEvents(origin, roomId, {
        earliestEvents: earliest, latestEvents: latest, limit: MISSING_EVENTS_LIMIT, minDepth: 0,
      });
      const parsed: RoomEvent[] = [];
      for (const pdu of events) {
        if (!isJsonObject(pdu)) continue;
        const read = await parse(roomId, pdu);
        if (read === undefined || read.roomId !== roomId || fetched.has(read.eventId)) continue;
        fetched.set(read.eventId, { pdu, depth: read.depth });
        parsed.push(read);
      }
      if (parsed.length === 0) break;
      // Another round from the oldest events whose prev events are neither fetched nor held.
      const cited = [...new Set(parsed.flatMap((read) => read.prevEventIds))].filter((id) => !fetched.has(id) && id !== event.eventId);
      const held = new Set((await ctx.graph.eventsByIds(cited)).map((stored) => stored.eventId));
      const unknown = cited.filter((id) => !held.has(id));
      latest = unknown.length === 0 ? [] : parsed.filter((read) => read.prevEventIds.some((id) => unknown.includes(id))).map((read) => read.eventId);
    }
    return [...fetched.values()].sort((a, b) => a.depth - b.depth).map((entry) => entry.pdu);
  };

  /**
   * The state before `event` as its sender has it (`/state`), its events checked and kept as
   * outliers; undefined when it cannot be had.
   */
  const remoteStateBefore = async (origin: string, roomId: string, event: RoomEvent): Promise<StateMap | undefined> => {
    const answer = await ctx.remoteRooms.state(origin, roomId, event.eventId);
    await ctx.writer.storeOutliers(roomId, [...answer.authChain, ...answer.pdus]);
    const rules = (await ctx.writer.state(roomId))?.rules;
    if (rules === undefined || rules === null) return undefined;
    const ids = answer.pdus.filter(isJsonObject).map((statePdu) => toRoomEvent(statePdu, rules)).flatMap((read) => (read.ok ? [read.value.eventId] : []));
    const held = await ctx.graph.eventsByIds(ids);
    if (held.length === 0) return undefined;
    const state = new Map<string, string>();
    for (const stored of held) if (stored.stateKey !== null && stored.roomId === roomId) state.set(stateKeyOf(stored.type, stored.stateKey), stored.eventId);
    return state as StateMap;
  };

  /** One PDU: ingested, its missing events fetched once when it needs them, then ingested again. */
  const ingest = async (origin: string, roomId: string, pdu: Pdu, fetchMissing: boolean): Promise<PduResult> => {
    let result = await ctx.writer.ingest(roomId, pdu, origin);
    if (result.outcome === 'missing' && fetchMissing) {
      const event = await parse(roomId, pdu);
      if (event !== undefined) {
        const missing = new Set(result.eventIds);
        if (event.authEventIds.some((id) => missing.has(id))) {
          await ctx.writer.storeOutliers(roomId, await ctx.remoteRooms.eventAuth(origin, roomId, event.eventId));
        }
        if (event.prevEventIds.some((id) => missing.has(id)) || result.eventIds.length === 0) {
          for (const earlier of await fetchGap(origin, roomId, event)) await ingest(origin, roomId, earlier, false);
        }
        result = await ctx.writer.ingest(roomId, pdu, origin);
        // A gap /get_missing_events did not close: take the state before the event from its sender.
        if (result.outcome === 'missing' && event.prevEventIds.some((id) => result.outcome === 'missing' && result.eventIds.includes(id))) {
          const stateBefore = await remoteStateBefore(origin, roomId, event);
          if (stateBefore !== undefined) result = await ctx.writer.ingest(roomId, pdu, origin, stateBefore);
        }
      }
    }
    switch (result.outcome) {
      case 'accepted':
      case 'known':
        return {};
      case 'softFailed':
        return errorResult('soft failed: not allowed by the room\'s current state');
      case 'rejected':
      case 'dropped':
        return errorResult(result.reason);
      case 'missing':
        return errorResult(`missing events: ${result.eventIds.slice(0, 5).join(', ')}`);
      case 'unknownRoom':
        return errorResult(`unknown room ${roomId}`);
    }
  };

  const roomPdus = async (origin: string, roomId: string, pdus: readonly Pdu[]): Promise<[string, PduResult][]> => {
    const results: [string, PduResult][] = [];
    const allowed = await ctx.acl.isServerAllowed(roomId, origin);
    const rules = (await ctx.writer.state(roomId))?.rules ?? undefined;
    for (const pdu of pdus) {
      // A PDU of a room we are not in has no id we can compute (its room version is unknown).
      if (rules === undefined || rules === null) continue;
      const parsed = toRoomEvent(pdu, rules);
      if (!parsed.ok) {
        // Dropped for its format, and answered: the sender learns it was (transactions.yaml: a result per PDU).
        const id = eventIdOf(pdu, rules);
        if (id.ok) results.push([id.value, errorResult(parsed.error)]);
        continue;
      }
      const event = parsed.value;
      if (!allowed) {
        results.push([event.eventId, errorResult('Server is banned from room')]);
        continue;
      }
      try {
        results.push([event.eventId, await ingest(origin, roomId, pdu, true)]);
      } catch (error) {
        onError(error);
        results.push([event.eventId, errorResult(error instanceof MatrixError ? error.message : 'internal error')]);
      }
    }
    return results;
  };

  const process = async (origin: string, body: JsonObject): Promise<JsonObject> => {
    const pdus = body.pdus === undefined ? [] : body.pdus;
    const edusList = body.edus === undefined ? [] : body.edus;
    const byRoom = new Map<string, Pdu[]>();
    for (const pdu of pdus as unknown[]) {
      if (!isJsonObject(pdu) || typeof pdu.room_id !== 'string' || pdu.room_id.length > 255) continue;
      byRoom.set(pdu.room_id, [...(byRoom.get(pdu.room_id) ?? []), pdu]);
    }
    const [rooms] = await Promise.all([
      Promise.all([...byRoom].map(([roomId, roomPdusList]) => roomPdus(origin, roomId, roomPdusList))),
      // An EDU that must not be lost (to-device, device lists) and could not be stored fails the
      // transaction, so the origin sends it again; the receiver's dedup makes that safe.
      edus === undefined ? undefined : edus.receive(origin, edusList as unknown[]),
    ]);
    return { pdus: Object.fromEntries(rooms.flat()) };
  };

  return {
    receive(origin, txnId, body) {
      if (!isJsonObject(body)) return Promise.reject(new MatrixError('M_NOT_JSON', 400, 'the transaction must be an object'));
      if (body.pdus !== undefined && !Array.isArray(body.pdus)) return Promise.reject(new MatrixError('M_BAD_JSON', 400, 'pdus must be a list'));
      if (body.edus !== undefined && !Array.isArray(body.edus)) return Promise.reject(new MatrixError('M_BAD_JSON', 400, 'edus must be a list'));
      if ((body.pdus as unknown[] | undefined ?? []).length > MAX_TRANSACTION_PDUS || (body.edus as unknown[] | undefined ?? []).length > MAX_TRANSACTION_EDUS) {
        return Promise.reject(new MatrixError('M_TOO_LARGE', 400, `a transaction carries at most ${MAX_TRANSACTION_PDUS} PDUs and ${MAX_TRANSACTION_EDUS} EDUs`));
      }
      const key = `${origin}\u0000${txnId}`;
      const known = answered.get(key);
      if (known !== undefined) return known;
      const answer = process(origin, body);
      answered.set(key, answer);
      // A failed transaction may be retried for real.
      answer.catch(() => answered.delete(key));
      return answer;
    },
  };
};
