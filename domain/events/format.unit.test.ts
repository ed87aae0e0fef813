import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isMatrixError } from '../errors.ts';
import type { JsonObject, JsonValue } from '../json.ts';
import { ROOM_VERSIONS, type RoomVersionRules } from '../roomVersions/index.ts';
import {
  buildPdu,
  referenceHashBase64,
  hasValidContentHash,
  MAX_PDU_BYTES,
  redactPdu,
  serversRequiredToSign,
  signingKeyFromSeed,
  toRoomEvent,
  verifyEventSignature,
  type Pdu,
  type ProtoEvent,
} from './index.ts';

const key = signingKeyFromSeed('example.org', 'ed25519:test', new Uint8Array(32).fill(7));
const rules = (id: string): RoomVersionRules => ROOM_VERSIONS.get(id)!;
const ALL = [...ROOM_VERSIONS.values()];

const createProto = (version: RoomVersionRules): ProtoEvent => ({
  roomId: version.eventFormat.roomIdIsCreateEventHash ? undefined : '!room:example.org',
  sender: '@alice:example.org',
  type: 'm.room.create',
  stateKey: '',
  content: { room_version: version.id, ...(version.auth.creatorIsCreateSender ? {} : { creator: '@alice:example.org' }) },
  originServerTs: 1_700_000_000_000,
  depth: 1,
  prevEventIds: [],
  authEventIds: [],
});

/** A create event and a message after it, built for the version. */
const smallRoom = (version: RoomVersionRules) => {
  const create = buildPdu(createProto(version), version, key);
  const message = buildPdu(
    {
      roomId: create.event.roomId,
      sender: '@alice:example.org',
      type: 'm.room.message',
      content: { msgtype: 'm.text', body: 'hello' },
      originServerTs: 1_700_000_000_001,
      depth: 2,
      prevEventIds: [create.eventId],
      authEventIds: version.auth.privilegedCreators ? [] : [create.eventId],
      referenceHashes: { [create.eventId]: referenceHashBase64(create.pdu, version) },
    },
    version,
    key,
  );
  return { create, message };
};

describe('buildPdu and toRoomEvent', () => {
  it.each(ALL.map((version) => [version.id, version] as const))('round-trips events of room version %s', (_id, version) => {
    const { create, message } = smallRoom(version);
    for (const built of [create, message]) {
      const event = toRoomEvent(built.pdu, version);
      expect(event).toEqual({ ok: true, value: built.event });
      expect(built.event.eventId).toBe(built.eventId);
      expect(hasValidContentHash(built.pdu, version)).toBe(true);
      expect(verifyEventSignature(built.pdu, version, 'example.org', key.keyId, key.publicKeyBase64)).toBe(true);
    }
    expect(message.event.prevEventIds).toEqual([create.eventId]);
    expect(message.event.roomId).toBe(create.event.roomId);
    if (version.eventFormat.roomIdIsCreateEventHash) {
      expect(create.pdu).not.toHaveProperty('room_id');
      expect(create.event.roomId).toBe(`!${create.eventId.slice(1)}`);
    }
    if (version.eventFormat.referencesCarryHashes) {
      expect(message.pdu.prev_events).toEqual([[create.eventId, { sha256: referenceHashBase64(create.pdu, version) }]]);
      expect(create.eventId).toMatch(/^\$[A-Za-z0-9_-]{24}:example\.org$/);
      expect(serversRequiredToSign('@alice:other.org', create.eventId, version)).toEqual(['other.org', 'example.org']);
    } else {
      expect(serversRequiredToSign('@alice:other.org', create.eventId, version)).toEqual(['other.org']);
    }
  });

  it('puts redacts at the top level before v11 and in content since', () => {
    for (const version of [rules('10'), rules('11')]) {
      const { create, message } = smallRoom(version);
      const redaction = buildPdu(
        {
          roomId: create.event.roomId,
          sender: '@alice:example.org',
          type: 'm.room.redaction',
          content: {},
          redacts: message.eventId,
          originServerTs: 1_700_000_000_002,
          depth: 3,
          prevEventIds: [message.eventId],
          authEventIds: [create.eventId],
        },
        version,
        key,
      );
      expect(redaction.event.redacts).toBe(message.eventId);
      if (version.auth.redactsInContent) expect(redaction.pdu.content).toEqual({ redacts: message.eventId });
      else expect(redaction.pdu.redacts).toBe(message.eventId);
    }
  });

  it('refuses events over 65,536 bytes with M_TOO_LARGE and floats in v6+ with M_BAD_JSON', () => {
    const version = rules('12');
    const { create } = smallRoom(version);
    const proto = { ...createProto(version), roomId: create.event.roomId, type: 'm.room.message', stateKey: undefined, prevEventIds: [create.eventId], depth: 2 };
    const thrown = (build: () => unknown) => {
      try {
        build();
      } catch (error) {
        return error;
      }
      throw new Error('expected buildPdu to throw');
    };
    const large = thrown(() => buildPdu({ ...proto, content: { body: 'x'.repeat(MAX_PDU_BYTES) } }, version, key));
    expect(isMatrixError(large) && [large.errcode, large.status]).toEqual(['M_TOO_LARGE', 413]);
    const longType = thrown(() => buildPdu({ ...proto, type: 't'.repeat(256) }, version, key));
    expect(isMatrixError(longType) && longType.errcode).toBe('M_TOO_LARGE');
    const float = thrown(() => buildPdu({ ...proto, content: { n: 1.5 } }, version, key));
    expect(isMatrixError(float) && [float.errcode, float.status]).toEqual(['M_BAD_JSON', 400]);
    // Room v1–v5 tolerate floats.
    const v5 = rules('5');
    const old = smallRoom(v5);
    expect(buildPdu({ ...proto, roomId: old.create.event.roomId, prevEventIds: [old.create.eventId], content: { n: 1.5 } }, v5, key).event.content).toEqual({ n: 1.5 });
  });
});

describe('toRoomEvent rejections', () => {
  const v12 = rules('12');
  const { create, message } = smallRoom(v12);
  const reasonFor = (pdu: JsonValue, version = v12): string => {
    const result = toRoomEvent(pdu, version);
    if (result.ok) throw new Error('expected a rejection');
    return result.error;
  };
  const changed = (patch: JsonObject, ...remove: string[]): Pdu => {
    const copy: Pdu = { ...message.pdu, ...patch };
    for (const field of remove) delete copy[field];
    return copy;
  };

  it('names what is wrong', () => {
    expect(reasonFor([])).toMatch(/JSON object/);
    expect(reasonFor(changed({}, 'type'))).toMatch(/^type/);
    expect(reasonFor(changed({ sender: 'alice' }))).toMatch(/^sender/);
    expect(reasonFor(changed({ content: [] }))).toMatch(/^content/);
    expect(reasonFor(changed({ state_key: 5 }))).toMatch(/^state_key/);
    expect(reasonFor(changed({ origin_server_ts: '1' }))).toMatch(/^origin_server_ts/);
    expect(reasonFor(changed({ depth: -1 }))).toMatch(/^depth/);
    expect(reasonFor(changed({}, 'hashes'))).toMatch(/^hashes/);
    expect(reasonFor(changed({ signatures: { 'example.org': { k: 1 } } }))).toMatch(/^signatures/);
    expect(reasonFor(changed({ prev_events: [[create.eventId, { sha256: 'x' }]] }))).toMatch(/^prev_events/);
    expect(reasonFor(changed({ auth_events: Array(11).fill(create.eventId) }))).toMatch(/more than 10/);
    expect(reasonFor(changed({ prev_events: ['$not-a-hash'] }))).toMatch(/^prev_events/);
    expect(reasonFor(changed({ room_id: '!room:example.org' }))).toMatch(/!hash/);
    expect(reasonFor(changed({}, 'room_id'))).toMatch(/^room_id/);
    expect(reasonFor(changed({ content: { n: 0.5 } }))).toMatch(/canonical/);
    expect(reasonFor(changed({ state_key: 'k'.repeat(256) }))).toMatch(/state_key is longer/);
    expect(reasonFor(changed({ unsigned: 3 }))).toMatch(/^unsigned/);
  });

  it('reads v1–v2 event ids from the PDU and checks their shape', () => {
    const v1 = rules('1');
    const old = smallRoom(v1).message.pdu;
    expect(reasonFor({ ...old, event_id: 'abc' }, v1)).toMatch(/event id/);
    const { event_id: _dropped, ...withoutId } = old;
    expect(reasonFor(withoutId, v1)).toMatch(/event_id/);
    expect(reasonFor({ ...old, prev_events: ['$a:example.org'] }, v1)).toMatch(/pairs/);
  });

  it('uses a known event id instead of hashing again', () => {
    const result = toRoomEvent(message.pdu, v12, message.eventId);
    expect(result.ok && result.value.eventId).toBe(message.eventId);
  });

  it('never throws on arbitrary JSON, nor on PDUs with arbitrary fields', () => {
    const fieldNames = ['type', 'sender', 'room_id', 'content', 'state_key', 'depth', 'origin_server_ts', 'prev_events', 'auth_events', 'hashes', 'signatures', 'unsigned', 'redacts', 'event_id'];
    const mutatedPdu = fc
      .dictionary(fc.constantFrom(...fieldNames), fc.jsonValue(), { maxKeys: 4 })
      .chain((patch) => fc.subarray(fieldNames).map((remove) => changed(patch as JsonObject, ...remove)));
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), mutatedPdu), fc.constantFrom(...ALL), (pdu, version) => {
        const result = toRoomEvent(pdu, version);
        expect(typeof result.ok).toBe('boolean');
        // A reason from the checks themselves, not the last-resort catch.
        if (!result.ok) expect(result.error).not.toMatch(/^malformed PDU|^$/);
      }),
      { numRuns: 500 },
    );
  });
});

describe('redaction', () => {
  it('is idempotent for every room version', () => {
    const event = fc.record(
      {
        type: fc.constantFrom('m.room.member', 'm.room.create', 'm.room.join_rules', 'm.room.power_levels', 'm.room.aliases', 'm.room.history_visibility', 'm.room.redaction', 'm.room.message'),
        content: fc.oneof(fc.jsonValue(), fc.dictionary(fc.constantFrom('membership', 'creator', 'join_rule', 'allow', 'ban', 'invite', 'aliases', 'redacts', 'third_party_invite', 'other'), fc.jsonValue())),
        origin: fc.string(),
        membership: fc.string(),
        unsigned: fc.jsonValue(),
        other: fc.jsonValue(),
      },
      { requiredKeys: ['type'] },
    );
    fc.assert(
      fc.property(event, fc.constantFrom(...ALL), (pdu, version) => {
        const once = redactPdu(pdu as Pdu, version.redaction);
        expect(redactPdu(once, version.redaction)).toEqual(once);
        expect(once).not.toHaveProperty('unsigned');
        expect(once).not.toHaveProperty('other');
      }),
    );
  });

  it('keeps signatures valid after a redaction', () => {
    const version = rules('11');
    const { message } = smallRoom(version);
    const redacted = redactPdu(message.pdu, version.redaction);
    expect(verifyEventSignature(redacted, version, 'example.org', key.keyId, key.publicKeyBase64)).toBe(true);
    expect(hasValidContentHash(redacted, version)).toBe(false);
    expect(toRoomEvent(redacted, version)).toMatchObject({ ok: true, value: { eventId: message.eventId, content: {} } });
  });
});
