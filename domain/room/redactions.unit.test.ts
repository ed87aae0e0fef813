/**
 * The decider's redaction judgement, per room version: what the record says a redaction does is
 * the only effect consumers apply (records.ts), so these tests pin that judgement down.
 */
import { describe, expect, it } from 'vitest';
import { authEventTuples } from '../auth/index.ts';
import {
  buildPdu, referenceHashBase64, signingKeyFromSeed, stateKeyOf, toRoomEvent,
  type Pdu, type RoomEvent, type SigningKey, type StateMap,
} from '../events/index.ts';
import type { JsonObject } from '../json.ts';
import { ROOM_VERSIONS, type RoomVersionRules } from '../roomVersions/index.ts';
import type { AwaitingRedaction, Decision, LocalEventRequest, RoomLookups } from './commands.ts';
import { decide, evolve, initialState } from './decider.ts';
import { isRoomRecord, redactionEffectsOf, type AnyPduAccepted, type PduAccepted, type RoomRecord } from './records.ts';
import type { RoomState } from './state.ts';

const keys = new Map<string, SigningKey>([
  ['a.test', signingKeyFromSeed('a.test', 'ed25519:1', new Uint8Array(32).fill(1))],
  ['b.test', signingKeyFromSeed('b.test', 'ed25519:1', new Uint8Array(32).fill(2))],
  ['c.test', signingKeyFromSeed('c.test', 'ed25519:1', new Uint8Array(32).fill(3))],
]);
const ALICE = '@alice:a.test';
const BOB = '@bob:a.test';
const CAROL = '@carol:b.test';
const DAVE = '@dave:b.test';
const ERIN = '@erin:c.test';
const local = { userId: ALICE, deviceId: 'DEV', txnId: null };

/** A writer in miniature that also keeps awaiting redactions, as the read model does. */
class Room {
  state: RoomState = initialState;
  readonly events = new Map<string, RoomEvent>();
  readonly stateAfter = new Map<string, StateMap>();
  readonly rejected = new Set<string>();
  readonly refHashes = new Map<string, string>();
  readonly awaiting: AwaitingRedaction[] = [];
  now = 1_700_000_000_000;
  readonly rules: RoomVersionRules;

  constructor(rules: RoomVersionRules) {
    this.rules = rules;
    this.apply(decide({
      type: 'createRoom',
      ...(rules.eventFormat.roomIdIsCreateEventHash ? {} : { roomId: '!room:a.test' }),
      createContent: rules.auth.creatorIsCreateSender ? { room_version: rules.id } : { room_version: rules.id, creator: ALICE },
      creator: ALICE,
      events: [
        { type: 'm.room.member', stateKey: ALICE, sender: ALICE, content: { membership: 'join' } },
        // Members may send state (state_default 0) but lack the redact power (50).
        { type: 'm.room.power_levels', stateKey: '', sender: ALICE, content: {
          users: rules.auth.privilegedCreators ? {} : { [ALICE]: 100 }, users_default: 0, events_default: 0, state_default: 0, redact: 50, ban: 50, kick: 50, invite: 0,
        } },
        { type: 'm.room.join_rules', stateKey: '', sender: ALICE, content: { join_rule: 'public' } },
      ],
      signingKey: keys.get('a.test')!,
      local,
      now: this.now,
    }, this.state, this.lookups));
    this.records(this.send({ type: 'm.room.member', stateKey: BOB, sender: BOB, content: { membership: 'join' } }));
    for (const user of [CAROL, DAVE, ERIN]) this.records(this.ingest(this.remote({ type: 'm.room.member', stateKey: user, sender: user, content: { membership: 'join' } })));
  }

  readonly lookups: RoomLookups = {
    getEvent: (id) => this.events.get(id),
    isRejected: (id) => this.rejected.has(id),
    stateAfter: (id) => this.stateAfter.get(id),
    verifyKey: (server, keyId) => {
      const key = keys.get(server);
      return key !== undefined && key.keyId === keyId ? { publicKeyBase64: key.publicKeyBase64, validUntilTs: Number.MAX_SAFE_INTEGER } : undefined;
    },
    awaitingRedactions: (id) => this.awaiting.filter((waiting) => this.redactsOf(waiting.eventId) === id),
  };

  private redactsOf(eventId: string): string | undefined {
    return this.events.get(eventId)?.redacts;
  }

  apply(decision: Decision): RoomRecord[] {
    if (decision.outcome !== 'records') throw new Error(`expected records, got ${JSON.stringify(decision)}`);
    for (const record of decision.records) {
      if (record.type === 'pdu.rejected') {
        this.rejected.add(record.eventId);
        continue;
      }
      const parsed = toRoomEvent(record.pdu, this.rules, record.eventId);
      if (!parsed.ok) throw new Error(parsed.error);
      if (record.type !== 'pdu.accepted') continue;
      this.events.set(record.eventId, parsed.value);
      this.refHashes.set(record.eventId, referenceHashBase64(record.pdu, this.rules));
      this.state = evolve(this.state, record);
      this.stateAfter.set(record.eventId, new Map(this.state.state));
      const effects = redactionEffectsOf(record);
      if (effects.awaiting !== undefined) {
        this.awaiting.push({ eventId: record.eventId, roomId: record.roomId, sender: parsed.value.sender, senderMayRedact: effects.awaiting.senderMayRedact });
      }
    }
    return [...decision.records];
  }

  /** The one accepted record of a decision. */
  records(decision: Decision): PduAccepted {
    const [record] = this.apply(decision);
    if (record?.type !== 'pdu.accepted' || record.v !== 2) throw new Error(`expected pdu.accepted v2, got ${JSON.stringify(record)}`);
    return record;
  }

  send(request: LocalEventRequest): Decision {
    this.now += 1000;
    return decide({ type: 'sendLocal', event: request, signingKey: keys.get('a.test')!, local, now: this.now }, this.state, this.lookups);
  }

  /** A PDU built by the sender's server on top of the room's current extremities. */
  remote(request: LocalEventRequest, prevEventIds: readonly string[] = this.state.forwardExtremities): Pdu {
    this.now += 1000;
    const stateBefore = this.stateAfter.get(prevEventIds[0]!)!;
    const authEventIds = authEventTuples(request, this.rules)
      .map(({ type, stateKey }) => stateBefore.get(stateKeyOf(type, stateKey)))
      .filter((id): id is string => id !== undefined);
    const depth = Math.max(...prevEventIds.map((id) => this.events.get(id)!.depth)) + 1;
    return buildPdu({
      roomId: this.state.roomId!, sender: request.sender, type: request.type,
      ...(request.stateKey === undefined ? {} : { stateKey: request.stateKey }),
      ...(request.redacts === undefined ? {} : { redacts: request.redacts }),
      content: request.content, originServerTs: this.now, depth, prevEventIds: [...prevEventIds], authEventIds,
      referenceHashes: Object.fromEntries(this.refHashes),
    }, this.rules, keys.get(request.sender.slice(request.sender.indexOf(':') + 1))!).pdu;
  }

  ingest(pdu: Pdu): Decision {
    return decide({ type: 'ingestPdu', pdu, origin: String(pdu.sender).split(':')[1]!, receivedAt: this.now }, this.state, this.lookups);
  }

  eventIdOf(pdu: Pdu): string {
    const parsed = toRoomEvent(pdu, this.rules);
    if (!parsed.ok) throw new Error(parsed.error);
    return parsed.value.eventId;
  }
}

const message = (sender: string, body = 'hello'): LocalEventRequest => ({ type: 'm.room.message', sender, content: { msgtype: 'm.text', body } });
const redaction = (sender: string, redacts: string): LocalEventRequest => ({ type: 'm.room.redaction', sender, content: { reason: 'no' }, redacts });

describe.each([...ROOM_VERSIONS.values()])('redaction judgement, room version $id', (rules) => {
  it('refuses a local state m.room.redaction, with or without a redacts in its content', () => {
    const room = new Room(rules);
    const target = room.records(room.send(message(ALICE))).eventId;
    const before = room.state;
    for (const content of [{ redacts: target }, {}] as JsonObject[]) {
      const decision = room.send({ type: 'm.room.redaction', stateKey: '', sender: BOB, content });
      // v1–v2: auth rule 11 refuses it first (403); since v3 the decider's judgement does (400).
      expect(decision).toMatchObject({ outcome: 'refused', error: { errcode: rules.auth.redactionDomainCheckInAuth ? 'M_FORBIDDEN' : 'M_BAD_JSON' } });
    }
    expect(room.state).toBe(before);
  });

  it('lets a local user redact their own event, and another user only with the redact power', () => {
    const room = new Room(rules);
    const alices = room.records(room.send(message(ALICE))).eventId;
    const bobs = room.records(room.send(message(BOB))).eventId;
    // v1–v2: auth rule 11.2 would allow it (both ids are a.test's); the client API does not.
    expect(room.send(redaction(BOB, alices))).toMatchObject({ outcome: 'refused', error: { errcode: 'M_FORBIDDEN' } });
    expect(room.records(room.send(redaction(BOB, bobs))).redaction).toEqual({ effect: 'redacts', target: bobs });
    const byAlice = room.records(room.send(redaction(ALICE, alices)));
    expect(byAlice.redaction).toEqual({ effect: 'redacts', target: alices });
    expect(byAlice.redactedBy).toEqual([]);
  });

  it('refuses a local redaction without redacts, of an unknown event (without power), of the create event or the server ACL', () => {
    const room = new Room(rules);
    expect(room.send({ type: 'm.room.redaction', sender: ALICE, content: {} })).toMatchObject({ outcome: 'refused', error: { errcode: 'M_BAD_JSON' } });
    const unknown = rules.eventFormat.eventIdFormat === 'originChosen' ? '$unknown:a.test' : '$unknownunknownunknownunknownunknownunknown0';
    expect(room.send(redaction(BOB, unknown))).toMatchObject({ outcome: 'refused', error: { errcode: 'M_NOT_FOUND' } });
    // The redact power may redact an event this server has not seen yet: it waits for it.
    expect(room.records(room.send(redaction(ALICE, unknown))).redaction).toEqual({ effect: 'awaitsTarget', target: unknown, senderMayRedact: true });
    const create = room.state.state.get(stateKeyOf('m.room.create', ''))!;
    expect(room.send(redaction(ALICE, create))).toMatchObject({ outcome: 'refused', error: { errcode: 'M_FORBIDDEN' } });
    const acl = room.records(room.send({ type: 'm.room.server_acl', stateKey: '', sender: ALICE, content: { allow: ['*'] } })).eventId;
    expect(room.send(redaction(ALICE, acl))).toMatchObject({ outcome: 'refused', error: { errcode: 'M_FORBIDDEN' } });
  });

  it("refuses a local redaction of another room's event with M_INVALID_PARAM, whoever sends it (Synapse: 400)", () => {
    const room = new Room(rules);
    const bobs = room.events.get(room.records(room.send(message(BOB))).eventId)!;
    // The writer preloads a target from the read model, whichever room holds it.
    const elsewhere = rules.eventFormat.eventIdFormat === 'originChosen' ? '$elsewhere:a.test' : '$elsewhereelsewhereelsewhereelsewhereelsewhere0';
    room.events.set(elsewhere, { ...bobs, eventId: elsewhere, roomId: '!other:a.test' });
    for (const sender of [ALICE, BOB]) {
      expect(room.send(redaction(sender, elsewhere))).toMatchObject({ outcome: 'refused', error: { errcode: 'M_INVALID_PARAM' } });
    }
  });

  it('shows a redacted current state event to later auth in its redacted form', () => {
    const room = new Room(rules);
    const topic = room.records(room.send({ type: 'm.room.topic', stateKey: '', sender: ALICE, content: { topic: 'secret' } })).eventId;
    room.records(room.send(redaction(ALICE, topic)));
    expect(room.state.stateEvents.get(stateKeyOf('m.room.topic', ''))?.content).toEqual({});
  });

  it('gives a remote state m.room.redaction no effect', () => {
    const room = new Room(rules);
    const target = room.records(room.send(message(ALICE))).eventId;
    const [record] = room.apply(room.ingest(room.remote({ type: 'm.room.redaction', stateKey: '', sender: CAROL, content: { redacts: target } })));
    // v1–v2 auth rule 11 rejects it (no top-level redacts); later versions accept it, inert.
    if (record!.type === 'pdu.accepted') expect(redactionEffectsOf(record!)).toEqual({ redacts: undefined, redactedBy: undefined, awaiting: undefined });
    else expect(record!.type).toBe('pdu.rejected');
    expect(room.events.get(target)?.content).toMatchObject({ body: 'hello' });
  });

  it('judges a remote redaction of a known event by the redact power or the same server', () => {
    const room = new Room(rules);
    const alices = room.records(room.send(message(ALICE))).eventId;
    const daves = room.records(room.ingest(room.remote(message(DAVE)))).eventId;
    // Carol (b.test, no power) redacts Dave's event (b.test): same server, it applies.
    expect(room.records(room.ingest(room.remote(redaction(CAROL, daves)))).redaction).toEqual({ effect: 'redacts', target: daves });
    const [onAlice] = room.apply(room.ingest(room.remote(redaction(CAROL, alices))));
    if (rules.auth.redactionDomainCheckInAuth) {
      // v1–v2, auth rule 11: the target's id is a.test's, the redaction's b.test's.
      expect(onAlice!.type).toBe('pdu.rejected');
    } else {
      expect(onAlice).toMatchObject({ type: 'pdu.accepted', redaction: { effect: 'none' } });
    }
  });

  it('marks a target that arrives after its redaction as redacted by it, when the redaction may take effect', () => {
    const room = new Room(rules);
    const tip = [...room.state.forwardExtremities];
    const daves = room.remote(message(DAVE, 'from b'), tip);
    const erins = room.remote(message(ERIN, 'from c'), tip);
    const [daveId, erinId] = [room.eventIdOf(daves), room.eventIdOf(erins)];
    const onDave = room.records(room.ingest(room.remote(redaction(CAROL, daveId))));
    expect(onDave.redaction).toMatchObject({ effect: 'awaitsTarget', target: daveId });
    const [onErin] = room.apply(room.ingest(room.remote(redaction(CAROL, erinId))));
    expect(room.records(room.ingest(daves)).redactedBy).toEqual([onDave.eventId]);
    if (rules.auth.redactionDomainCheckInAuth) {
      // v1–v2: an unknown c.test target's id is not b.test's, so auth rule 11 rejects the redaction.
      expect(onErin!.type).toBe('pdu.rejected');
      expect(room.records(room.ingest(erins)).redactedBy).toEqual([]);
    } else {
      expect(onErin).toMatchObject({ type: 'pdu.accepted', redaction: { effect: 'awaitsTarget', target: erinId, senderMayRedact: false } });
      // Carol is on b.test, Erin on c.test, and Carol lacks the redact power: Erin's event stays whole.
      expect(room.records(room.ingest(erins)).redactedBy).toEqual([]);
    }
  });
});

describe.each([...ROOM_VERSIONS.values()].filter((rules) => !rules.eventFormat.roomIdIsCreateEventHash))('a second m.room.create from another server, room version $id', (rules) => {
  it('is rejected: it would pass auth rule 1 on its own', () => {
    const room = new Room(rules);
    const create = room.state.state.get(stateKeyOf('m.room.create', ''));
    const pdu = buildPdu({
      roomId: room.state.roomId!, sender: '@mallory:a.test', type: 'm.room.create', stateKey: '',
      content: rules.auth.creatorIsCreateSender ? { room_version: rules.id } : { room_version: rules.id, creator: '@mallory:a.test' },
      originServerTs: room.now, depth: 1, prevEventIds: [], authEventIds: [],
    }, rules, keys.get('a.test')!).pdu;
    const [record] = room.apply(room.ingest(pdu));
    expect(record).toMatchObject({ type: 'pdu.rejected' });
    expect(room.state.state.get(stateKeyOf('m.room.create', ''))).toBe(create);
  });
});

describe('pdu.accepted v1 records (written before redaction judgements travelled in the log)', () => {
  const rules = ROOM_VERSIONS.get('10')!;
  const legacy = (pdu: JsonObject, localOrigin: boolean): RoomRecord => ({
    type: 'pdu.accepted', v: 1, roomId: '!room:a.test', roomVersion: rules.id, eventId: '$r', pdu, stateDelta: [],
    prevAcceptedEventId: null, forwardExtremities: ['$r'], local: localOrigin ? local : null, acceptedAt: 0,
  });

  it('reads a local non-state redaction as redacting its target, a state one as nothing, and refuses a remote one loudly', () => {
    const base = { type: 'm.room.redaction', sender: BOB, room_id: '!room:a.test', content: {}, redacts: '$target' };
    expect(redactionEffectsOf(legacy(base, true) as AnyPduAccepted).redacts).toBe('$target');
    expect(redactionEffectsOf(legacy({ ...base, state_key: '' }, true) as AnyPduAccepted).redacts).toBeUndefined();
    expect(() => redactionEffectsOf(legacy(base, false) as AnyPduAccepted)).toThrow(/remote redaction/);
  });

  it('takes v1 and v2 acceptances as room records, but not a v2 one without its judgement, nor an unknown version', () => {
    const v1 = legacy({ type: 'm.room.message', sender: BOB, content: {} }, true);
    expect(isRoomRecord(v1)).toBe(true);
    expect(isRoomRecord({ ...v1, v: 2, redaction: null, redactedBy: [] })).toBe(true);
    expect(isRoomRecord({ ...v1, v: 2 })).toBe(false);
    expect(isRoomRecord({ ...v1, v: 3, redaction: null, redactedBy: [] })).toBe(false);
    expect(isRoomRecord({ type: 'pdu.rejected', v: 2, roomId: '!room:a.test' })).toBe(false);
  });
});
