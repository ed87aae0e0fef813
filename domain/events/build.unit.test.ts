/**
 * buildPdu encodes a new event twice (content hash input; redacted event, which is both signed and
 * the reference hash input) and derives its size by arithmetic. These properties pin it to the
 * straightforward construction it replaced: hash, sign, hash again, measure, read back.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeBase64Url } from '../base64.ts';
import { canonicalJson, canonicalJsonBytes, CanonicalJsonError, isStrictCanonicalJson } from '../canonicalJson.ts';
import { MatrixError } from '../errors.ts';
import type { JsonObject, JsonValue } from '../json.ts';
import { ROOM_VERSIONS, type RoomVersionRules } from '../roomVersions/index.ts';
import {
  buildPdu,
  hashAndSignEvent,
  pduOfProto,
  pduSizeProblem,
  redactPdu,
  referenceHashEventId,
  roomEventOfAcceptedPdu,
  sha256Digest,
  signingKeyFromSeed,
  strictnessOf,
  toRoomEvent,
  type BuiltEvent,
  type ProtoEvent,
  type SigningKey,
} from './index.ts';

const key = signingKeyFromSeed('example.org', 'ed25519:k1', new Uint8Array(32).fill(5));

/** The construction before: five encodings (origin-chosen id, content hash, signature, reference hash, size ×2). */
const legacyBuildPdu = (proto: ProtoEvent, rules: RoomVersionRules, signingKey: SigningKey): BuiltEvent => {
  let pdu = pduOfProto(proto, rules);
  let eventId: string | undefined;
  try {
    if (rules.eventFormat.eventIdFormat === 'originChosen') {
      eventId = `$${encodeBase64Url(sha256Digest(canonicalJsonBytes(pdu, strictnessOf(rules)))).slice(0, 24)}:${signingKey.serverName}`;
      pdu = { event_id: eventId, ...pdu };
    }
    pdu = hashAndSignEvent(pdu, rules, signingKey);
    eventId ??= referenceHashEventId(pdu, rules);
  } catch (error) {
    if (error instanceof CanonicalJsonError) throw new MatrixError('M_BAD_JSON', 400, error.message);
    throw error;
  }
  const size = pduSizeProblem(pdu, strictnessOf(rules));
  if (size !== undefined) throw new MatrixError(size.tooLarge ? 'M_TOO_LARGE' : 'M_BAD_JSON', size.tooLarge ? 413 : 400, size.reason);
  const event = toRoomEvent(pdu, rules, eventId);
  if (!event.ok) throw new MatrixError('M_BAD_JSON', 400, event.error);
  return { pdu, eventId: event.value.eventId as BuiltEvent['eventId'], event: event.value };
};

type Outcome = { built: BuiltEvent; canonical: string; json: string } | { error: string };

const outcomeOf = (build: () => BuiltEvent, rules: RoomVersionRules): Outcome => {
  try {
    const built = build();
    return { built, canonical: canonicalJson(built.pdu, strictnessOf(rules)), json: JSON.stringify(built.pdu) };
  } catch (error) {
    if (error instanceof MatrixError) return { error: `${error.errcode} ${error.status} ${error.message}` };
    return { error: `Error ${String(error)}` };
  }
};

/** Mostly values with a strict canonical form; now and then one only room v1–v5 tolerate. */
const contentValue: fc.Arbitrary<JsonValue> = fc.oneof(
  { arbitrary: (fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<JsonValue>).filter(isStrictCanonicalJson), weight: 6 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 20 }), weight: 6 },
  { arbitrary: fc.double(), weight: 1 },
  { arbitrary: fc.constantFrom(2 ** 53, -(2 ** 53) + 1, -0, 1e21), weight: 1 },
);

/** Occasionally a body that lands the event near the 65,536-byte limit, in 1- to 4-byte characters. */
const padding = fc.oneof(
  { arbitrary: fc.constant(null), weight: 3 },
  {
    weight: 1,
    arbitrary: fc.tuple(fc.integer({ min: 64_800, max: 65_400 }), fc.constantFrom('a', 'é', '€', '🐈')).map(([bytes, char]) => {
      const width = new TextEncoder().encode(char).length;
      return char.repeat(Math.floor(bytes / width / 2)) + 'a'.repeat(bytes - Math.floor(bytes / width / 2) * width);
    }),
  },
);

const protoFor = (rules: RoomVersionRules) =>
  fc
    .record({
      type: fc.constantFrom('m.room.message', 'm.room.member', 'm.room.create', 'm.room.redaction', 'm.room.power_levels', 'm.room.join_rules', 'x.custom'),
      stateKey: fc.option(fc.constantFrom('', '@bob:example.org', 'ß'), { nil: undefined }),
      content: fc.dictionary(fc.string({ unit: 'binary', maxLength: 8 }), contentValue, { maxKeys: 6 }),
      membership: fc.option(fc.constantFrom('join', 'leave', 'invite'), { nil: undefined }),
      body: padding,
      originServerTs: fc.integer({ min: 0, max: 2 ** 45 }),
      depth: fc.integer({ min: 1, max: 1_000_000 }),
      redacts: fc.option(fc.constant('$target:example.org'), { nil: undefined }),
    })
    .map(({ type, stateKey, content, membership, body, originServerTs, depth, redacts }): ProtoEvent => {
      const prevEventIds = rules.eventFormat.eventIdFormat === 'originChosen' ? ['$prev:example.org'] : ['$Jv9Fq6wlkw9Hh4cWeNGpW7Wu5BxTFTvgqMxTe45UzGw'];
      const authEventIds = rules.eventFormat.eventIdFormat === 'originChosen' ? ['$auth:example.org'] : ['$aZ3dYTaLmoLqcRybTRMe0Kc2OwyHuYNqA2SD5AiHqaQ'];
      const full: JsonObject = { ...content };
      if (membership !== undefined) full.membership = membership;
      if (body !== null) full.body = body;
      return {
        roomId: rules.eventFormat.roomIdIsCreateEventHash ? '!Jv9Fq6wlkw9Hh4cWeNGpW7Wu5BxTFTvgqMxTe45UzGw' : '!room:example.org',
        sender: '@alice:example.org',
        type,
        ...(stateKey === undefined ? {} : { stateKey }),
        content: full,
        originServerTs,
        depth,
        prevEventIds,
        authEventIds,
        ...(redacts === undefined ? {} : { redacts }),
        referenceHashes: { '$prev:example.org': 'cHJldg', '$auth:example.org': 'YXV0aA' },
      };
    });

describe.each([...ROOM_VERSIONS.values()].map((rules) => [rules.id, rules] as const))('buildPdu, room version %s', (_id, rules) => {
  it('yields the PDU, event id and event of the full construction, byte for byte, or the same error', () => {
    fc.assert(
      fc.property(protoFor(rules), (proto) => {
        const now = outcomeOf(() => buildPdu(proto, rules, key), rules);
        const before = outcomeOf(() => legacyBuildPdu(proto, rules, key), rules);
        if ('error' in before) {
          expect(now).toEqual(before);
          return;
        }
        expect('built' in now).toBe(true);
        if (!('built' in now)) return;
        expect(now.canonical).toBe(before.canonical);
        expect(now.json).toBe(before.json);
        expect(now.built.eventId).toBe(before.built.eventId);
        expect(now.built.event).toEqual(before.built.event);
        // Read back from the log, unchecked: the same view, of the event and of its redacted form.
        expect(roomEventOfAcceptedPdu(now.built.pdu, rules, now.built.eventId)).toEqual(before.built.event);
        const redacted = redactPdu(now.built.pdu, rules.redaction);
        const checked = toRoomEvent(redacted, rules, now.built.eventId);
        expect(checked.ok).toBe(true);
        if (checked.ok) expect(roomEventOfAcceptedPdu(redacted, rules, now.built.eventId)).toEqual(checked.value);
      }),
      { numRuns: 100 },
    );
  });
});
