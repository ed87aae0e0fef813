/** Room log records built by hand (see RoomRecords). */
import type { JsonObject, PduAccepted, StateChange } from '../../domain/index.ts';

/**
 * Builds a room's `pdu.accepted` records by hand — unsigned, hashes made up — for consumers that
 * read records as the writer appends them (the rooms projection applies them, chain and state
 * deltas included) without a decider judging them: events of remote users in a room whose join
 * went through no federation flow, for instance.
 */
export class RoomRecords {
  readonly #state = new Map<string, string>();
  #last: string | null = null;
  #depth = 0;
  readonly pdus = new Map<string, JsonObject>();

  readonly roomId: string;

  constructor(roomId: string) {
    this.roomId = roomId;
  }

  /** An event; its content carries `id` (the event id) so receivers can be checked by it. */
  event(sender: string, type: string, content: JsonObject, stateKey?: string): PduAccepted {
    const eventId = `$${this.roomId.slice(1, 9)}${this.#depth}x${Math.random().toString(36).slice(2)}`;
    this.#depth += 1;
    const pdu: JsonObject = {
      room_id: this.roomId, sender, type, content: { ...content, id: eventId }, origin_server_ts: Date.now(), depth: this.#depth,
      prev_events: this.#last === null ? [] : [this.#last], auth_events: [], hashes: { sha256: 'aGFzaA' }, signatures: {},
      ...(stateKey === undefined ? {} : { state_key: stateKey }),
    };
    const stateDelta: StateChange[] = [];
    if (stateKey !== undefined) {
      const key = `${type}\u0000${stateKey}`;
      stateDelta.push({ type, stateKey, eventId, replaces: this.#state.get(key) ?? null });
      this.#state.set(key, eventId);
    }
    const record: PduAccepted = {
      type: 'pdu.accepted', v: 2, roomId: this.roomId, roomVersion: '10', eventId, pdu, stateDelta,
      prevAcceptedEventId: this.#last, forwardExtremities: [eventId], local: null, acceptedAt: Date.now(), redaction: null, redactedBy: [],
    };
    this.#last = eventId;
    this.pdus.set(eventId, pdu);
    return record;
  }

  member(userId: string, membership: string, sender = userId): PduAccepted {
    return this.event(sender, 'm.room.member', { membership }, userId);
  }

  message(sender: string, body: string): PduAccepted {
    return this.event(sender, 'm.room.message', { msgtype: 'm.text', body });
  }

  /** A room `creator` created (on the creator's server), with these users joined. */
  static created(name: string, creator: string, joined: readonly string[]): { room: RoomRecords; records: PduAccepted[] } {
    const room = new RoomRecords(`!${name}${Math.random().toString(36).slice(2, 8)}:${creator.slice(creator.indexOf(':') + 1)}`);
    const records = [
      room.event(creator, 'm.room.create', { room_version: '10' }, ''),
      room.member(creator, 'join'),
      ...joined.map((userId) => room.member(userId, 'join')),
    ];
    return { room, records };
  }
}
