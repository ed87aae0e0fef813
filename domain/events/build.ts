/**
 * Building a new event of this server: fills the room version's event format, the content hash
 * and this server's signature (server-server-api.md § Signing Events), and computes its event id.
 */
import { encodeBase64, encodeBase64Url } from '../base64.ts';
import { canonicalJsonBytes, CanonicalJsonError } from '../canonicalJson.ts';
import { MatrixError } from '../errors.ts';
import type { JsonObject, JsonValue } from '../json.ts';
import type { EventId } from '../ids/index.ts';
import type { RoomVersionRules } from '../roomVersions/index.ts';
import { eventIdOfReferenceHash } from './eventIds.ts';
import { toRoomEventOfBuiltPdu } from './format.ts';
import { sha256Digest, strictnessOf } from './hashes.ts';
import { builtPduSizeProblem, canonicalSizeWith, identifierFieldProblem, type PduSizeProblem } from './limits.ts';
import type { Pdu, RoomEvent } from './pdu.ts';
import { redactPdu } from './redaction.ts';
import { signatureOfBytes, type SigningKey } from './signing.ts';

/** The parts of a new event its author decides; everything else is derived. */
export interface ProtoEvent {
  /** Required except for the `m.room.create` event of a v12+ room, whose id becomes the room id. */
  readonly roomId?: string;
  readonly sender: string;
  readonly type: string;
  /** Present exactly for state events. */
  readonly stateKey?: string;
  readonly content: JsonObject;
  readonly originServerTs: number;
  readonly depth: number;
  readonly prevEventIds: readonly string[];
  readonly authEventIds: readonly string[];
  /** For `m.room.redaction`: top-level `redacts` before v11, `content.redacts` since. */
  readonly redacts?: string;
  /**
   * v1–v2 only: references carry the referenced events' reference hashes (`[id, {sha256}]`), so
   * each prev/auth event id must be mapped to its reference hash (unpadded Base64).
   */
  readonly referenceHashes?: Readonly<Record<string, string>>;
}

export interface BuiltEvent {
  readonly pdu: Pdu;
  readonly eventId: EventId;
  /** The built PDU read through its format, ready for auth and the decider. */
  readonly event: RoomEvent;
}

const isCreateEvent = (proto: ProtoEvent): boolean => proto.type === 'm.room.create' && proto.stateKey === '';

const references = (ids: readonly string[], proto: ProtoEvent, rules: RoomVersionRules): JsonValue[] => {
  if (!rules.eventFormat.referencesCarryHashes) return [...ids];
  return ids.map((id) => {
    const sha256 = proto.referenceHashes?.[id];
    if (sha256 === undefined) throw new Error(`room version ${rules.id}: no reference hash given for ${id}`);
    return [id, { sha256 }];
  });
};

/** The event a proto describes, before its hashes and signatures (and, in v1–v2, its event id). */
export const pduOfProto = (proto: ProtoEvent, rules: RoomVersionRules): Pdu => {
  const pdu: Pdu = {};
  const roomIdOmitted = rules.eventFormat.roomIdIsCreateEventHash && isCreateEvent(proto);
  if (!roomIdOmitted) {
    if (proto.roomId === undefined) throw new Error('a room id is required for this event');
    pdu.room_id = proto.roomId;
  }
  pdu.sender = proto.sender;
  pdu.type = proto.type;
  if (proto.stateKey !== undefined) pdu.state_key = proto.stateKey;
  pdu.content = proto.redacts !== undefined && rules.auth.redactsInContent ? { ...proto.content, redacts: proto.redacts } : proto.content;
  if (proto.redacts !== undefined && !rules.auth.redactsInContent) pdu.redacts = proto.redacts;
  pdu.origin_server_ts = proto.originServerTs;
  pdu.depth = proto.depth;
  pdu.prev_events = references(proto.prevEventIds, proto, rules);
  pdu.auth_events = references(proto.authEventIds, proto, rules);
  return pdu;
};

/**
 * v1–v2: the origin chooses `$opaque:server`. The opaque part is derived from the event's own
 * content so building stays deterministic; two distinct events never share it.
 */
const originChosenEventId = (pdu: Pdu, rules: RoomVersionRules, serverName: string): EventId => {
  const digest = sha256Digest(canonicalJsonBytes(pdu, strictnessOf(rules)));
  return `$${encodeBase64Url(digest).slice(0, 24)}:${serverName}` as EventId;
};

const sizeError = (problem: PduSizeProblem): MatrixError =>
  problem.tooLarge ? new MatrixError('M_TOO_LARGE', 413, problem.reason) : new MatrixError('M_BAD_JSON', 400, problem.reason);

/**
 * Builds, hashes and signs a new event. Throws MatrixError M_TOO_LARGE (413) when the event breaks
 * the size limits, M_BAD_JSON (400) when it is otherwise not a valid event of its room version
 * (e.g. a float in a v6+ room), and Error for a proto that misses what its version needs.
 *
 * Two canonical encodings (three in v1–v2, whose ids are derived from the event too): the content
 * hash input, and the redacted event with its hash. A new event has no signatures, `unsigned` or
 * `age_ts`, so those redacted bytes are both what is signed and what the reference hash (the
 * event id since v3) is computed over; the size follows from the first by arithmetic.
 */
export const buildPdu = (proto: ProtoEvent, rules: RoomVersionRules, signingKey: SigningKey): BuiltEvent => {
  const options = strictnessOf(rules);
  let unsigned = pduOfProto(proto, rules);
  // The bounds that need no encoding first: encoding recurses, so nesting is bounded before it.
  const fieldProblem = identifierFieldProblem(unsigned);
  if (fieldProblem !== undefined) throw sizeError(fieldProblem);
  let eventId: EventId | undefined;
  let pdu: Pdu;
  let size: number;
  try {
    if (rules.eventFormat.eventIdFormat === 'originChosen') {
      eventId = originChosenEventId(unsigned, rules, signingKey.serverName);
      unsigned = { event_id: eventId, ...unsigned };
    }
    // § Calculating the content hash: the event without unsigned, signatures and hashes, which
    // a new event does not have yet.
    const contentInput = canonicalJsonBytes(unsigned, options);
    const hashes = { sha256: encodeBase64(sha256Digest(contentInput)) };
    const hashed: Pdu = { ...unsigned, hashes };
    const redacted = canonicalJsonBytes(redactPdu(hashed, rules.redaction), options);
    const signatures = { [signingKey.serverName]: { [signingKey.keyId]: signatureOfBytes(redacted, signingKey) } };
    pdu = { ...hashed, signatures };
    eventId ??= eventIdOfReferenceHash(sha256Digest(redacted), rules);
    size = canonicalSizeWith(contentInput.length, { hashes, signatures }, options);
  } catch (error) {
    if (error instanceof CanonicalJsonError) throw new MatrixError('M_BAD_JSON', 400, error.message);
    throw error;
  }
  const sizeProblem = builtPduSizeProblem(size);
  if (sizeProblem !== undefined) throw sizeError(sizeProblem);
  const event = toRoomEventOfBuiltPdu(pdu, rules, eventId);
  if (!event.ok) throw new MatrixError('M_BAD_JSON', 400, event.error);
  return { pdu, eventId, event: event.value };
};
