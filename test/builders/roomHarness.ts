/**
 * A room writer in miniature for the decider's unit tests: folds records, keeps what the lookups
 * need, and builds PDUs as a remote server (b.test) would.
 */
import { authEventTuples } from '../../domain/auth/index.ts';
import {
  buildPdu, referenceHashBase64, toRoomEvent, signingKeyFromSeed, stateKeyOf,
  type Pdu, type RoomEvent, type SigningKey, type StateMap,
} from '../../domain/events/index.ts';
import type { JsonObject } from '../../domain/index.ts';
import type { RoomVersionRules } from '../../domain/roomVersions/index.ts';
import { decide, evolve, initialState, type Decision, type EventRecord, type LocalEventRequest, type RoomLookups, type RoomState } from '../../domain/room/index.ts';

export const localKey = signingKeyFromSeed('a.test', 'ed25519:1', new Uint8Array(32).fill(1));
export const remoteKey = signingKeyFromSeed('b.test', 'ed25519:1', new Uint8Array(32).fill(2));
export const local = { userId: '@alice:a.test', deviceId: 'DEV', txnId: null };

/** A writer in miniature: folds records and keeps what the lookups need. */
export class Harness {
  state: RoomState = initialState;
  readonly events = new Map<string, RoomEvent>();
  readonly stateAfter = new Map<string, StateMap>();
  readonly rejected = new Set<string>();
  readonly refHashes = new Map<string, string>();
  now = 1_700_000_000_000;
  readonly rules: RoomVersionRules;
  constructor(rules: RoomVersionRules) {
    this.rules = rules;
  }

  readonly lookups: RoomLookups = {
    getEvent: (id) => this.events.get(id),
    isRejected: (id) => this.rejected.has(id),
    stateAfter: (id) => this.stateAfter.get(id),
    verifyKey: (server, keyId) => {
      const key = server === 'a.test' ? localKey : server === 'b.test' ? remoteKey : undefined;
      return key !== undefined && keyId === key.keyId ? { publicKeyBase64: key.publicKeyBase64, validUntilTs: Number.MAX_SAFE_INTEGER } : undefined;
    },
  };

  apply(decision: Decision): EventRecord[] {
    if (decision.outcome !== 'records') throw new Error(`expected records, got ${JSON.stringify(decision)}`);
    for (const record of decision.records) {
      if (record.type === 'pdu.rejected') {
        this.rejected.add(record.eventId);
        continue;
      }
      const parsed = toRoomEvent(record.pdu, this.rules, record.eventId);
      if (!parsed.ok) throw new Error(parsed.error);
      this.events.set(record.eventId, parsed.value);
      this.refHashes.set(record.eventId, referenceHashBase64(record.pdu, this.rules));
      if (record.type === 'pdu.accepted') {
        this.state = evolve(this.state, record);
        this.stateAfter.set(record.eventId, new Map(this.state.state));
      }
      // The read model keeps a soft-failed event with the state after it (records.ts).
      if (record.type === 'pdu.softFailed' && record.stateAfterDelta !== undefined) {
        const after = new Map(this.state.state);
        for (const change of record.stateAfterDelta) {
          if (change.eventId === null) after.delete(stateKeyOf(change.type, change.stateKey));
          else after.set(stateKeyOf(change.type, change.stateKey), change.eventId);
        }
        this.stateAfter.set(record.eventId, after);
      }
    }
    return [...decision.records];
  }

  send(request: LocalEventRequest): Decision {
    this.now += 1000;
    return decide({ type: 'sendLocal', event: request, signingKey: localKey, local, now: this.now }, this.state, this.lookups);
  }

  /** Builds a PDU as server b would, on top of `prevEventIds` and the state after them. */
  remote(request: LocalEventRequest, prevEventIds: readonly string[], key: SigningKey = remoteKey): Pdu {
    this.now += 1000;
    const stateBefore = this.stateAfter.get(prevEventIds[0]!)!;
    const authEventIds = authEventTuples(request, this.rules)
      .map(({ type, stateKey }) => stateBefore.get(stateKeyOf(type, stateKey)))
      .filter((id): id is string => id !== undefined);
    const depth = Math.max(...prevEventIds.map((id) => this.events.get(id)!.depth)) + 1;
    return buildPdu(
      {
        roomId: this.state.roomId!,
        sender: request.sender,
        type: request.type,
        ...(request.stateKey === undefined ? {} : { stateKey: request.stateKey }),
        content: request.content,
        originServerTs: this.now,
        depth,
        prevEventIds,
        authEventIds,
        referenceHashes: Object.fromEntries(this.refHashes),
      },
      this.rules,
      key,
    ).pdu;
  }

  ingest(pdu: Pdu): Decision {
    return decide({ type: 'ingestPdu', pdu, origin: 'b.test', receivedAt: this.now }, this.state, this.lookups);
  }
}

export const member = (userId: string, membership: string): LocalEventRequest => ({
  type: 'm.room.member',
  stateKey: userId,
  sender: userId,
  content: { membership },
});

export const createContent = (rules: RoomVersionRules): JsonObject =>
  rules.auth.creatorIsCreateSender ? { room_version: rules.id } : { room_version: rules.id, creator: '@alice:a.test' };

export const powerLevels = (rules: RoomVersionRules): JsonObject => ({
  users: rules.auth.privilegedCreators ? {} : { '@alice:a.test': 100 },
  users_default: 0,
  events_default: 0,
  state_default: 50,
  ban: 50,
  kick: 50,
  redact: 50,
  invite: 0,
});

export const createRoomDecision = (h: Harness, events: readonly LocalEventRequest[]): Decision =>
  decide(
    {
      type: 'createRoom',
      roomId: h.rules.eventFormat.roomIdIsCreateEventHash ? undefined : '!room:a.test',
      createContent: createContent(h.rules),
      creator: '@alice:a.test',
      events: [member('@alice:a.test', 'join'), ...events],
      signingKey: localKey,
      local,
      now: h.now,
    },
    h.state,
    h.lookups,
  );

export const createRoom = (h: Harness): EventRecord[] =>
  h.apply(createRoomDecision(h, [
    { type: 'm.room.power_levels', stateKey: '', sender: '@alice:a.test', content: powerLevels(h.rules) },
    { type: 'm.room.join_rules', stateKey: '', sender: '@alice:a.test', content: { join_rule: 'public' } },
    { type: 'm.room.history_visibility', stateKey: '', sender: '@alice:a.test', content: { history_visibility: 'shared' } },
  ]));

