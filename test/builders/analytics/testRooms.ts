/**
 * Test fixture: rooms written by the real decider, as a room's single writer would, with their
 * records appended to the log. Local events through `send`, remote ones (server b.test) through
 * `remote` + `ingest`, so tests see accepted, soft-failed and rejected records alike.
 */
import {
  ROOM_EVENTS_TOPIC, authEventTuples, buildPdu, decide, evolve, initialState, roomVersionRules, signingKeyFromSeed,
  stateKeyOf, toRoomEvent,
  type Decision, type JsonObject, type LocalEventRequest, type LogValue, type Pdu, type RoomEvent, type RoomLog,
  type RoomLookups, type EventRecord, type RoomState, type RoomVersionRules, type StateMap,
} from '../../../domain/index.ts';

export const LOCAL_SERVER = 'a.test';
export const REMOTE_SERVER = 'b.test';
const localKey = signingKeyFromSeed(LOCAL_SERVER, 'ed25519:1', new Uint8Array(32).fill(1));
const remoteKey = signingKeyFromSeed(REMOTE_SERVER, 'ed25519:1', new Uint8Array(32).fill(2));

export class TestRoom {
  state: RoomState = initialState;
  /** Every record this room produced, in order. */
  readonly records: EventRecord[] = [];
  readonly rules: RoomVersionRules;
  /** The next event's origin_server_ts; each event advances it by `step`. */
  now: number;
  step = 60_000;
  readonly #events = new Map<string, RoomEvent>();
  readonly #stateAfter = new Map<string, StateMap>();
  readonly #rejected = new Set<string>();

  constructor(now: number, version = '10') {
    this.now = now;
    this.rules = roomVersionRules(version)!;
  }

  get roomId(): string {
    return this.state.roomId!;
  }

  readonly lookups: RoomLookups = {
    getEvent: (id) => this.#events.get(id),
    isRejected: (id) => this.#rejected.has(id),
    stateAfter: (id) => this.#stateAfter.get(id),
    verifyKey: (server, keyId) => {
      const key = server === LOCAL_SERVER ? localKey : server === REMOTE_SERVER ? remoteKey : undefined;
      return key !== undefined && keyId === key.keyId ? { publicKeyBase64: key.publicKeyBase64, validUntilTs: Number.MAX_SAFE_INTEGER } : undefined;
    },
  };

  #apply(decision: Decision): EventRecord[] {
    if (decision.outcome !== 'records') throw new Error(`expected records, got ${JSON.stringify(decision)}`);
    for (const record of decision.records) {
      this.records.push(record);
      if (record.type === 'pdu.rejected') {
        this.#rejected.add(record.eventId);
        continue;
      }
      const parsed = toRoomEvent(record.pdu, this.rules, record.eventId);
      if (!parsed.ok) throw new Error(parsed.error);
      this.#events.set(record.eventId, parsed.value);
      if (record.type === 'pdu.accepted') {
        this.state = evolve(this.state, record);
        this.#stateAfter.set(record.eventId, new Map(this.state.state));
      }
    }
    return [...decision.records];
  }

  #tick(): number {
    const at = this.now;
    this.now += this.step;
    return at;
  }

  create(roomId: string, creator: string, extraMembers: readonly string[] = []): EventRecord[] {
    const member = (userId: string): LocalEventRequest => ({ type: 'm.room.member', stateKey: userId, sender: userId, content: { membership: 'join' } });
    return this.#apply(decide({
      type: 'createRoom',
      roomId,
      createContent: { room_version: this.rules.id, creator },
      creator,
      events: [
        member(creator),
        { type: 'm.room.power_levels', stateKey: '', sender: creator, content: { users: { [creator]: 100 }, users_default: 0, events_default: 0, state_default: 50, redact: 50 } },
        { type: 'm.room.join_rules', stateKey: '', sender: creator, content: { join_rule: 'public' } },
        ...extraMembers.map(member),
      ],
      signingKey: localKey,
      local: { userId: creator, deviceId: 'DEV', txnId: null },
      now: this.#tick(),
    }, this.state, this.lookups));
  }

  send(sender: string, type: string, content: JsonObject, extra: { stateKey?: string; redacts?: string } = {}): EventRecord {
    const [record] = this.#apply(decide({
      type: 'sendLocal',
      event: { type, sender, content, ...extra },
      signingKey: localKey,
      local: { userId: sender, deviceId: 'DEV', txnId: null },
      now: this.#tick(),
    }, this.state, this.lookups));
    return record!;
  }

  /** A PDU as b.test would build it on top of `prevEventIds` (default: the current extremities). */
  remote(request: LocalEventRequest, prevEventIds: readonly string[] = this.state.forwardExtremities): Pdu {
    const stateBefore = this.#stateAfter.get(prevEventIds[0]!)!;
    const authEventIds = authEventTuples(request, this.rules)
      .map(({ type, stateKey }) => stateBefore.get(stateKeyOf(type, stateKey)))
      .filter((id): id is string => id !== undefined);
    const depth = Math.max(...prevEventIds.map((id) => this.#events.get(id)!.depth)) + 1;
    return buildPdu({
      roomId: this.roomId, sender: request.sender, type: request.type,
      ...(request.stateKey === undefined ? {} : { stateKey: request.stateKey }),
      content: request.content, originServerTs: this.#tick(), depth, prevEventIds: [...prevEventIds], authEventIds,
    }, this.rules, remoteKey).pdu;
  }

  ingest(pdu: Pdu): EventRecord {
    const [record] = this.#apply(decide({ type: 'ingestPdu', pdu, origin: REMOTE_SERVER, receivedAt: this.now }, this.state, this.lookups));
    return record!;
  }
}

/** Appends records to the room events topic, keyed by room id as the writer does. */
export const appendRoomRecords = async (log: RoomLog, records: readonly EventRecord[]): Promise<void> => {
  await log.append(ROOM_EVENTS_TOPIC, records.map((record) => ({
    key: record.roomId,
    value: record as unknown as LogValue,
    headers: { type: record.type },
  })));
};
