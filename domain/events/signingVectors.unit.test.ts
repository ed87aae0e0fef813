/**
 * Every vector in shared/spec/vectors/signing.json, by category, for every room version it names.
 * A category without a handler fails, so no vector is skipped silently.
 */
import { readSpecVector } from '../../test/fixtures/index.ts';
import { describe, expect, it } from 'vitest';
import { decodeBase64, encodeBase64 } from '../base64.ts';
import { canonicalJson, isStrictCanonicalJson, parseJson } from '../canonicalJson.ts';
import type { JsonObject, JsonValue } from '../json.ts';
import { ROOM_VERSIONS, type RoomVersionRules } from '../roomVersions/index.ts';
import {
  buildPdu,
  contentHashBase64,
  eventIdOf,
  hasValidContentHash,
  hashAndSignEvent,
  redactPdu,
  referenceHash,
  roomIdOfCreateEvent,
  signingKeyFromSeed,
  signJson,
  strictnessOf,
  toRoomEvent,
  verifyEventSignature,
  verifyJsonSignature,
  type Pdu,
  type SigningKey,
} from './index.ts';

interface Vector {
  id: string;
  category: string;
  input: JsonValue;
  expected: JsonValue;
  key?: string;
  room_version?: string;
  room_version_rules?: string;
}
interface VectorFile {
  keys: Record<string, { seed_unpadded_base64: string; server_name: string; key_id: string; public_key_unpadded_base64: string }>;
  vectors: Vector[];
}

const file = readSpecVector<VectorFile>('signing.json');

const rulesOf = (id: string): RoomVersionRules => {
  const rules = ROOM_VERSIONS.get(id);
  if (rules === undefined) throw new Error(`unknown room version ${id}`);
  return rules;
};

/** "1-8" → versions 1..8; "11" → [11]. */
const versionsIn = (range: string): RoomVersionRules[] => {
  const [from, to = from] = range.split('-').map(Number) as [number, number?];
  const versions: RoomVersionRules[] = [];
  for (let v = from; v <= to!; v++) versions.push(rulesOf(String(v)));
  return versions;
};

const keyOf = (vector: Vector): SigningKey => {
  const spec = file.keys[vector.key ?? ''];
  if (spec === undefined) throw new Error(`vector ${vector.id} names unknown key ${vector.key}`);
  const key = signingKeyFromSeed(spec.server_name, spec.key_id, decodeBase64(spec.seed_unpadded_base64)!);
  expect(key.publicKeyBase64).toBe(spec.public_key_unpadded_base64);
  return key;
};

const object = (value: JsonValue): JsonObject => {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('expected an object');
  return value;
};
const parsed = (text: JsonValue): JsonObject => {
  if (typeof text !== 'string') return object(text);
  const result = parseJson(text, { strict: false });
  if (!result.ok) throw new Error(result.error);
  return object(result.value);
};
const without = (value: JsonObject, ...keys: string[]): JsonObject => Object.fromEntries(Object.entries(value).filter(([k]) => !keys.includes(k)));

/** Valid in a room version: parses under its strictness and has a canonical form. */
const validIn = (text: string, rules: RoomVersionRules): boolean => {
  const result = parseJson(text, strictnessOf(rules));
  if (!result.ok) return false;
  return rules.auth.strictCanonicalJson ? isStrictCanonicalJson(result.value) : canonicalJson(result.value, { strict: false }) !== '';
};

const check: Record<string, (vector: Vector) => void> = {
  unpadded_base64: (vector) => {
    const bytes = new TextEncoder().encode(vector.input as string);
    expect(encodeBase64(bytes)).toBe(vector.expected);
    expect(decodeBase64(vector.expected as string)).toEqual(bytes);
  },

  canonical_json: (vector) => {
    const result = parseJson(vector.input as string, { strict: false });
    if (!result.ok) throw new Error(result.error);
    expect(canonicalJson(result.value, { strict: false })).toBe(vector.expected);
    // Every canonical_json vector is also valid strict canonical JSON once parsed.
    expect(canonicalJson(result.value, { strict: true })).toBe(vector.expected);
  },

  canonical_json_validation: (vector) => {
    const expected = object(vector.expected);
    if (Array.isArray(vector.input)) {
      // The ambiguous inputs: canonical encoding per the spec example; v6+ acceptance as Synapse
      // does it (-0 read as 0, exponent forms refused).
      const texts = vector.input as string[];
      texts.forEach((text, i) => {
        const value = parseJson(text, { strict: false });
        if (!value.ok) throw new Error(value.error);
        expect(canonicalJson(value.value, { strict: false })).toBe((expected.spec_canonical_encoding as string[])[i]);
        for (const rules of versionsIn('6-12')) {
          expect(validIn(text, rules) ? 'accept' : 'reject').toBe((expected.synapse_v6_plus as string[])[i]);
        }
      });
      return;
    }
    for (const rules of versionsIn('1-5')) expect(validIn(vector.input as string, rules)).toBe(expected.valid_in_room_versions_1_to_5);
    for (const rules of versionsIn('6-12')) expect(validIn(vector.input as string, rules)).toBe(expected.valid_in_room_versions_6_plus);
  },

  json_signing: (vector) => {
    const key = keyOf(vector);
    const signed = signJson(object(vector.input), key);
    expect(signed).toEqual(vector.expected);
    expect(verifyJsonSignature(signed, key.serverName, key.keyId, key.publicKeyBase64)).toBe(true);
  },

  event_signing: (vector) => {
    const key = keyOf(vector);
    const expected = object(vector.expected);
    // The vectors are room v1 events; the description notes v1–v10 give the same result.
    for (const rules of versionsIn(`${vector.room_version_rules}-10`)) {
      const signed = hashAndSignEvent(object(vector.input), rules, key);
      expect(signed).toEqual(expected.signed_event);
      expect(contentHashBase64(object(vector.input), rules)).toBe(expected.content_hash_sha256);
      expect(object(object(signed.signatures)[key.serverName]!)[key.keyId]).toBe(expected.signature);
      const signedForm = without(redactPdu(signed, rules.redaction), 'signatures', 'unsigned');
      expect(canonicalJson(signedForm, strictnessOf(rules))).toBe(expected.redacted_signed_form_canonical);
      expect(verifyEventSignature(signed, rules, key.serverName, key.keyId, key.publicKeyBase64)).toBe(true);
      expect(hasValidContentHash(signed, rules)).toBe(true);
    }
  },

  event_signature_verification: (vector) => {
    const key = keyOf(vector);
    const rules = rulesOf(vector.room_version_rules!);
    const valid = verifyEventSignature(object(vector.input), rules, key.serverName, key.keyId, key.publicKeyBase64);
    expect(valid).toBe(object(vector.expected).signature_valid_after_redaction);
  },

  content_hash: (vector) => {
    const rules = rulesOf(vector.room_version_rules!);
    const pdu = parsed(vector.input);
    const expected = object(vector.expected);
    expect(contentHashBase64(pdu, rules)).toBe(expected.content_hash_sha256);
    expect(hasValidContentHash(pdu, rules)).toBe(true);
    expect(eventIdOf(pdu, rules)).toEqual({ ok: true, value: expected.event_id });
    const event = toRoomEvent(pdu, rules);
    if (!event.ok) throw new Error(event.error);
    expect(event.value.eventId).toBe(expected.event_id);
  },

  event_id: (vector) => {
    const pdu = parsed(vector.input);
    const idIn = (version: string): string => {
      const id = eventIdOf(pdu, rulesOf(version));
      if (!id.ok) throw new Error(id.error);
      return id.value;
    };
    const refHashIn = (version: string): string => encodeBase64(referenceHash(pdu, rulesOf(version)));
    const expectations: Record<string, (value: JsonValue) => void> = {
      event_id: (value) => expect(idIn(vector.room_version!)).toBe(value),
      content_hash_sha256: (value) => expect(contentHashBase64(pdu, rulesOf(vector.room_version!))).toBe(value),
      event_id_by_room_version: (value) => {
        for (const [version, id] of Object.entries(object(value))) expect(idIn(version)).toBe(id);
      },
      reference_hash_sha256_unpadded_base64: (value) => {
        for (const rules of versionsIn('1-10')) expect(refHashIn(rules.id)).toBe(value);
      },
      event_id_v3: (value) => expect(idIn('3')).toBe(value),
      event_id_v4_to_v10: (value) => {
        for (const rules of versionsIn('4-10')) expect(idIn(rules.id)).toBe(value);
      },
      reference_hash_v11_rules: (value) => {
        for (const rules of versionsIn('11-12')) expect(refHashIn(rules.id)).toBe(value);
      },
      event_id_v11: (value) => {
        for (const rules of versionsIn('11-12')) expect(idIn(rules.id)).toBe(value);
      },
    };
    for (const [name, value] of Object.entries(object(vector.expected))) {
      const expectation = expectations[name];
      if (expectation === undefined) throw new Error(`vector ${vector.id}: no check for expected.${name}`);
      expectation(value);
    }
  },

  room_id_v12: (vector) => {
    const key = keyOf(vector);
    const rules = rulesOf('12');
    const input = object(vector.input);
    const expected = object(vector.expected);
    const create = hashAndSignEvent(object(input.create_event!), rules, key);
    expect(create).toEqual(expected.signed_create_event);
    expect(eventIdOf(create, rules)).toEqual({ ok: true, value: expected.create_event_id });
    expect(roomIdOfCreateEvent(create, rules)).toBe(expected.room_id);
    const member = hashAndSignEvent({ ...object(input.member_event_template!), room_id: expected.room_id! }, rules, key);
    expect(member).toEqual(expected.signed_member_event);
    expect(eventIdOf(member, rules)).toEqual({ ok: true, value: expected.member_event_id });

    // buildPdu produces the same events from their parts (unsigned data is not part of them).
    const builtCreate = buildPdu(
      { sender: '@alice:domain', type: 'm.room.create', stateKey: '', content: { room_version: '12' }, originServerTs: 1000000, depth: 1, prevEventIds: [], authEventIds: [] },
      rules,
      key,
    );
    expect(builtCreate.pdu).toEqual(without(object(expected.signed_create_event), 'unsigned'));
    expect(builtCreate.eventId).toBe(expected.create_event_id);
    expect(builtCreate.event.roomId).toBe(expected.room_id);
    const builtMember = buildPdu(
      {
        roomId: expected.room_id as string,
        sender: '@alice:domain',
        type: 'm.room.member',
        stateKey: '@alice:domain',
        content: { membership: 'join' },
        originServerTs: 1000001,
        depth: 2,
        prevEventIds: [builtCreate.eventId],
        authEventIds: [],
      },
      rules,
      key,
    );
    expect(builtMember.pdu).toEqual(expected.signed_member_event);
    expect(builtMember.eventId).toBe(expected.member_event_id);
  },

  redaction: (vector) => {
    const byVersion = object(object(vector.expected).redacted_by_room_version!);
    for (const [range, redacted] of Object.entries(byVersion)) {
      for (const rules of versionsIn(range)) {
        expect(redactPdu(object(vector.input) as Pdu, rules.redaction), `room v${rules.id}`).toEqual(redacted);
      }
    }
  },
};

describe('signing.json vectors', () => {
  it('has vectors in every category this suite checks', () => {
    const categories = new Set(file.vectors.map((vector) => vector.category));
    expect([...categories].sort()).toEqual(Object.keys(check).sort());
  });

  for (const vector of file.vectors) {
    it(`${vector.category}: ${vector.id}`, () => {
      const handler = check[vector.category];
      if (handler === undefined) throw new Error(`no handler for vector category ${vector.category}`);
      handler(vector);
    });
  }
});
