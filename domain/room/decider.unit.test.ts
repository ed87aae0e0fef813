import { describe, expect, it } from 'vitest';
import { authEventTuples } from '../auth/index.ts';
import {
  buildPdu,
  referenceHashBase64,
  toRoomEvent,
  signingKeyFromSeed,
  stateKeyOf,
  type Pdu,
  type RoomEvent,
  type SigningKey,
  type StateMap,
} from '../events/index.ts';
import type { JsonObject } from '../json.ts';
import { ROOM_VERSIONS, type RoomVersionRules } from '../roomVersions/index.ts';
import type { Decision, LocalEventRequest, RoomLookups } from './commands.ts';
import { decide, evolve, initialState } from './decider.ts';
import type { EventRecord } from './records.ts';
import type { RoomState } from './state.ts';

const localKey = signingKeyFromSeed('a.test', 'ed25519:1', new Uint8Array(32).fill(1));
const remoteKey = signingKeyFromSeed('b.test', 'ed25519:1', new Uint8Array(32).fill(2));
const local = { userId: '@alice:a.test', deviceId: 'DEV', txnId: null };

/** A writer in miniature: folds records and keeps what the lookups need. */
class Harness {
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

const member = (userId: string, membership: string): LocalEventRequest => ({
  type: 'm.room.member',
  stateKey: userId,
  sender: userId,
  content: { membership },
});

const createContent = (rules: RoomVersionRules): JsonObject =>
  rules.auth.creatorIsCreateSender ? { room_version: rules.id } : { room_version: rules.id, creator: '@alice:a.test' };

const powerLevels = (rules: RoomVersionRules): JsonObject => ({
  users: rules.auth.privilegedCreators ? {} : { '@alice:a.test': 100 },
  users_default: 0,
  events_default: 0,
  state_default: 50,
  ban: 50,
  kick: 50,
  redact: 50,
  invite: 0,
});

const createRoomDecision = (h: Harness, events: readonly LocalEventRequest[]): Decision =>
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

const createRoom = (h: Harness): EventRecord[] =>
  h.apply(createRoomDecision(h, [
    { type: 'm.room.power_levels', stateKey: '', sender: '@alice:a.test', content: powerLevels(h.rules) },
    { type: 'm.room.join_rules', stateKey: '', sender: '@alice:a.test', content: { join_rule: 'public' } },
    { type: 'm.room.history_visibility', stateKey: '', sender: '@alice:a.test', content: { history_visibility: 'shared' } },
  ]));

describe.each([...ROOM_VERSIONS.values()])('room decider, room version $id', (rules) => {
  it('creates a room whose records chain and fold into its state', () => {
    const h = new Harness(rules);
    const records = createRoom(h);
    expect(records.map((r) => r.type)).toEqual(Array(5).fill('pdu.accepted'));
    if (rules.eventFormat.roomIdIsCreateEventHash) {
      expect(h.state.roomId).toBe(`!${records[0]!.eventId.slice(1)}`);
    } else {
      expect(h.state.roomId).toBe('!room:a.test');
    }
    const accepted = records.filter((r) => r.type === 'pdu.accepted');
    accepted.forEach((record, i) => {
      expect(record.prevAcceptedEventId).toBe(i === 0 ? null : accepted[i - 1]!.eventId);
      expect(record.forwardExtremities).toEqual([record.eventId]);
      expect(record.stateDelta).toHaveLength(1);
    });
    expect(h.state.state.size).toBe(5);
    expect(h.state.maxDepth).toBe(5);
  });

  it('accepts a member message, refuses a non-member, and refuses a second create', () => {
    const h = new Harness(rules);
    createRoom(h);
    const [message] = h.apply(h.send({ type: 'm.room.message', sender: '@alice:a.test', content: { msgtype: 'm.text', body: 'hi' } }));
    expect(message!.type).toBe('pdu.accepted');
    expect(h.state.forwardExtremities).toEqual([message!.eventId]);
    const stranger = h.send({ type: 'm.room.message', sender: '@bob:a.test', content: { body: 'let me in' } });
    expect(stranger).toMatchObject({ outcome: 'refused', error: { errcode: 'M_FORBIDDEN' } });
    const again = h.send({ type: 'm.room.create', stateKey: '', sender: '@alice:a.test', content: {} });
    expect(again).toMatchObject({ outcome: 'refused', error: { errcode: 'M_FORBIDDEN' } });
  });

  it('folds a message without copying the state, and a state event into new maps leaving the old ones as they were', () => {
    const h = new Harness(rules);
    createRoom(h);
    const before = h.state;
    h.apply(h.send({ type: 'm.room.message', sender: '@alice:a.test', content: { msgtype: 'm.text', body: 'hi' } }));
    expect(h.state.state).toBe(before.state);
    expect(h.state.stateEvents).toBe(before.stateEvents);
    const sizeBefore = before.state.size;
    h.apply(h.send({ type: 'm.room.topic', stateKey: '', sender: '@alice:a.test', content: { topic: 'new' } }));
    expect(h.state.state).not.toBe(before.state);
    expect(h.state.state.size).toBe(sizeBefore + 1);
    expect(before.state.size).toBe(sizeBefore);
    expect(before.state.has(stateKeyOf('m.room.topic', ''))).toBe(false);
  });

  it('refuses a room whose initial state its creator may not send with M_INVALID_ROOM_STATE, appending nothing', () => {
    const h = new Harness(rules);
    const decision = createRoomDecision(h, [
      // Since v12 creators cannot lose power, but power levels must not list them.
      h.rules.auth.privilegedCreators
        ? { type: 'm.room.power_levels', stateKey: '', sender: '@alice:a.test', content: { users: { '@alice:a.test': 100 } } }
        : { type: 'm.room.power_levels', stateKey: '', sender: '@alice:a.test', content: { users: {}, users_default: 0, state_default: 50 } },
      { type: 'm.room.name', stateKey: '', sender: '@alice:a.test', content: { name: 'Locked out' } },
    ]);
    expect(decision).toMatchObject({ outcome: 'refused', error: { errcode: 'M_INVALID_ROOM_STATE' } });
  });

  it('refuses an event over 65,536 bytes with M_TOO_LARGE', () => {
    const h = new Harness(rules);
    createRoom(h);
    const big = h.send({ type: 'm.room.message', sender: '@alice:a.test', content: { body: 'x'.repeat(70_000) } });
    expect(big).toMatchObject({ outcome: 'refused', error: { errcode: 'M_TOO_LARGE' } });
  });

  it('ingests remote PDUs: accepts a join, rejects a non-member, drops a bad signature, soft-fails a banned sender', () => {
    const h = new Harness(rules);
    createRoom(h);
    const tip = () => [...h.state.forwardExtremities];

    const [join] = h.apply(h.ingest(h.remote(member('@carol:b.test', 'join'), tip())));
    expect(join).toMatchObject({ type: 'pdu.accepted', local: null });
    expect(h.state.state.get(stateKeyOf('m.room.member', '@carol:b.test'))).toBe(join!.eventId);
    const beforeBan = tip();

    const [outsider] = h.apply(h.ingest(h.remote({ type: 'm.room.message', sender: '@dave:b.test', content: { body: 'x' } }, tip())));
    expect(outsider!.type).toBe('pdu.rejected');

    const forged = h.remote({ type: 'm.room.message', sender: '@carol:b.test', content: { body: 'x' } }, tip(), signingKeyFromSeed('b.test', 'ed25519:1', new Uint8Array(32).fill(9)));
    expect(h.ingest(forged)).toMatchObject({ outcome: 'dropped' });

    h.apply(h.send({ type: 'm.room.member', stateKey: '@carol:b.test', sender: '@alice:a.test', content: { membership: 'ban' } }));
    // Carol's message cites the DAG before her ban: fine by the state before it, not by the current state.
    const [late] = h.apply(h.ingest(h.remote({ type: 'm.room.message', sender: '@carol:b.test', content: { body: 'late' } }, beforeBan)));
    expect(late!.type).toBe('pdu.softFailed');
  });

  it('redacts a remote PDU whose content hash does not match, then judges the redacted form', () => {
    const h = new Harness(rules);
    createRoom(h);
    h.apply(h.ingest(h.remote(member('@carol:b.test', 'join'), [...h.state.forwardExtremities])));
    const pdu = h.remote({ type: 'm.room.message', sender: '@carol:b.test', content: { body: 'original' } }, [...h.state.forwardExtremities]);
    const tampered = { ...pdu, content: { body: 'tampered' } };
    const [record] = h.apply(h.ingest(tampered));
    expect(record!.type).toBe('pdu.accepted');
    if (record!.type === 'pdu.accepted') expect(record!.pdu.content).toEqual({});
  });

  it('asks for what it lacks instead of guessing', () => {
    const h = new Harness(rules);
    createRoom(h);
    const pdu = h.remote(member('@carol:b.test', 'join'), [...h.state.forwardExtremities]);
    const empty: RoomLookups = { ...h.lookups, getEvent: () => undefined };
    expect(decide({ type: 'ingestPdu', pdu, origin: 'b.test', receivedAt: h.now }, h.state, empty).outcome).toBe('missing');
  });
});
