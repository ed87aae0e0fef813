/**
 * The 65,536-byte limit measured by arithmetic (canonicalSizeWith) against the full encoding
 * (pduSizeProblem), at the limit and one byte over, with multi-byte UTF-8 in the content.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson, canonicalJsonBytes } from '../canonicalJson.ts';
import { MatrixError } from '../errors.ts';
import type { JsonObject, JsonValue } from '../json.ts';
import { ROOM_VERSIONS, type RoomVersionRules } from '../roomVersions/index.ts';
import {
  buildPdu,
  canonicalSizeWith,
  hashAndSignEvent,
  MAX_PDU_BYTES,
  pduOfProto,
  pduSizeProblem,
  signingKeyFromSeed,
  strictnessOf,
  type ProtoEvent,
} from './index.ts';

const strict = { strict: true };
const key = signingKeyFromSeed('example.org', 'ed25519:k1', new Uint8Array(32).fill(9));
const utf8Bytes = (text: string): number => new TextEncoder().encode(text).length;
const rulesOf = (id: string): RoomVersionRules => ROOM_VERSIONS.get(id)!;

const protoWithBody = (rules: RoomVersionRules, body: string): ProtoEvent => ({
  roomId: rules.eventFormat.roomIdIsCreateEventHash ? '!Jv9Fq6wlkw9Hh4cWeNGpW7Wu5BxTFTvgqMxTe45UzGw' : '!room:example.org',
  sender: '@alice:example.org',
  type: 'm.room.message',
  content: { msgtype: 'm.text', body },
  originServerTs: 1_700_000_000_000,
  depth: 12,
  prevEventIds: rules.eventFormat.eventIdFormat === 'originChosen' ? ['$prev:example.org'] : ['$Jv9Fq6wlkw9Hh4cWeNGpW7Wu5BxTFTvgqMxTe45UzGw'],
  authEventIds: rules.eventFormat.eventIdFormat === 'originChosen' ? ['$auth:example.org'] : ['$aZ3dYTaLmoLqcRybTRMe0Kc2OwyHuYNqA2SD5AiHqaQ'],
  referenceHashes: { '$prev:example.org': 'cHJldg', '$auth:example.org': 'YXV0aA' },
});

/** The full encoding's verdict, on the PDU hashed and signed the long way. */
const fullMeasure = (proto: ProtoEvent, rules: RoomVersionRules) => {
  let unsigned = pduOfProto(proto, rules);
  // v1–v2: an event id of the same length as the one buildPdu derives.
  if (rules.eventFormat.eventIdFormat === 'originChosen') unsigned = { event_id: `$${'x'.repeat(24)}:example.org`, ...unsigned };
  const pdu = hashAndSignEvent(unsigned, rules, key);
  return { bytes: canonicalJsonBytes(pdu, strictnessOf(rules)).length, problem: pduSizeProblem(pdu, strictnessOf(rules)) };
};

/**
 * A body of 1- to 4-byte characters that makes the event exactly `target` bytes; with
 * `oneOver`, two ASCII characters at its end become `é` + `a` (one byte more, same length in
 * code units).
 */
const bodyFor = (rules: RoomVersionRules, target: number, oneOver: boolean): string => {
  const base = fullMeasure(protoWithBody(rules, ''), rules).bytes;
  const multiByte = '🐈€é'.repeat(2_000); // 9 bytes each
  const filler = target - base - utf8Bytes(multiByte);
  expect(filler).toBeGreaterThan(2);
  return multiByte + 'a'.repeat(filler - 2) + (oneOver ? 'éa' : 'aa');
};

describe.each(['1', '3', '6', '11', '12'])('the size limit of a built event, room version %s', (id) => {
  const rules = rulesOf(id);

  it('accepts an event of exactly 65,536 bytes, as the full encoding measures it', () => {
    const proto = protoWithBody(rules, bodyFor(rules, MAX_PDU_BYTES, false));
    expect(fullMeasure(proto, rules)).toEqual({ bytes: MAX_PDU_BYTES, problem: undefined });
    const built = buildPdu(proto, rules, key);
    expect(utf8Bytes(canonicalJson(built.pdu, strictnessOf(rules)))).toBe(MAX_PDU_BYTES);
    expect(pduSizeProblem(built.pdu, strictnessOf(rules))).toBeUndefined();
  });

  it('refuses an event one byte over (a 2-byte character for an ASCII one), as the full encoding does', () => {
    const proto = protoWithBody(rules, bodyFor(rules, MAX_PDU_BYTES, true));
    const full = fullMeasure(proto, rules);
    expect(full.bytes).toBe(MAX_PDU_BYTES + 1);
    expect(full.problem).toEqual({ tooLarge: true, reason: `event is larger than ${MAX_PDU_BYTES} bytes` });
    let thrown: unknown;
    try {
      buildPdu(proto, rules, key);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(MatrixError);
    expect(thrown).toMatchObject({ errcode: 'M_TOO_LARGE', status: 413, message: full.problem!.reason });
  });

  it('still refuses an identifier field over 255 bytes', () => {
    const proto = { ...protoWithBody(rules, 'hi'), type: `m.${'é'.repeat(127)}` };
    expect(() => buildPdu(proto, rules, key)).toThrow(expect.objectContaining({ errcode: 'M_TOO_LARGE', message: 'type is longer than 255 bytes' }));
  });
});

describe('canonicalSizeWith', () => {
  const member = fc.oneof(fc.string({ unit: 'binary' }), fc.maxSafeInteger(), fc.dictionary(fc.string({ unit: 'binary', maxLength: 4 }), fc.string({ unit: 'binary', maxLength: 8 }), { maxKeys: 3 }));
  const object = fc.dictionary(fc.string({ unit: 'binary', maxLength: 6 }), member, { minKeys: 1, maxKeys: 6 }) as fc.Arbitrary<JsonObject>;

  it('equals the byte length of the encoding with the members added, wherever their keys sort', () => {
    fc.assert(
      fc.property(object, object, (base, members) => {
        const added: JsonObject = {};
        for (const [name, value] of Object.entries(members)) if (!Object.hasOwn(base, name)) added[name] = value as JsonValue;
        const measured = canonicalSizeWith(canonicalJsonBytes(base, strict).length, added, strict);
        expect(measured).toBe(canonicalJsonBytes({ ...base, ...added }, strict).length);
      }),
    );
  });
});

describe('bounds beyond size', () => {
  const rules = rulesOf('12');
  const deepContent = (levels: number): JsonObject => {
    let value: JsonObject = { leaf: 1 };
    for (let i = 1; i < levels; i++) value = { a: value };
    return value;
  };
  const build = (content: JsonObject) => () => buildPdu({ ...protoWithBody(rules, 'x'), content }, rules, key);

  it('admits content nested as deep as a request body may be, and refuses one level more as M_BAD_JSON', () => {
    expect(build(deepContent(128))).not.toThrow();
    expect(build(deepContent(129))).toThrow(expect.objectContaining({ errcode: 'M_BAD_JSON', status: 400 }));
    // Before encoding: nesting that would overflow the encoder is refused, not a stack overflow.
    expect(build(deepContent(100_000))).toThrow(expect.objectContaining({ errcode: 'M_BAD_JSON' }));
  });

  it('refuses a remote event nested too deep without encoding it', () => {
    const pdu = pduOfProto({ ...protoWithBody(rules, 'x'), content: deepContent(100_000) }, rules);
    expect(pduSizeProblem(pdu, strict)).toMatchObject({ tooLarge: false });
  });

  it('bounds a relation target to the identifier limit', () => {
    const relation = (eventId: string) => build({ 'm.relates_to': { rel_type: 'm.annotation', event_id: eventId, key: 'k' } });
    expect(relation(`$${'a'.repeat(254)}`)).not.toThrow();
    expect(relation(`$${'a'.repeat(255)}`)).toThrow(expect.objectContaining({ errcode: 'M_TOO_LARGE' }));
    const objectTarget = build({ 'm.relates_to': { rel_type: 'm.annotation', event_id: { big: 'x'.repeat(10_000) } } });
    expect(objectTarget).toThrow(expect.objectContaining({ errcode: 'M_BAD_JSON' }));
  });
});

