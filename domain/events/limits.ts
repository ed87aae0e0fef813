/**
 * Event size limits (client-server-api § Size limits): the whole PDU, signatures included, at most
 * 65,536 bytes of canonical JSON; `sender`, `room_id`, `event_id` within the 255-byte identifier
 * limit; `type` and `state_key` at most 255 bytes each. Beyond the spec, for the read models' sake:
 * nesting is bounded and a relation's target is an identifier (MAX_PDU_DEPTH, identifierFieldProblem).
 */
import { canonicalJson, CanonicalJsonError, type CanonicalJsonOptions } from '../canonicalJson.ts';
import { MAX_IDENTIFIER_BYTES, utf8Length } from '../ids/index.ts';
import { isJsonObject, type JsonObject } from '../json.ts';
import { fitsBytes, jsonShapeProblem, LIMITS } from '../limits.ts';
import type { Pdu } from './pdu.ts';

export const MAX_PDU_BYTES = 65_536;
export const MAX_EVENT_FIELD_BYTES = 255;

const LIMITED_FIELDS: readonly string[] = ['sender', 'room_id', 'event_id', 'type', 'state_key'];

export interface PduSizeProblem {
  /** True when a limit is exceeded (M_TOO_LARGE); false when the event has no canonical form. */
  readonly tooLarge: boolean;
  readonly reason: string;
}

const tooLarge = (reason: string): PduSizeProblem => ({ tooLarge: true, reason });

/**
 * An event nests at most one level more than its content, which is bounded like any JSON a client
 * sends (domain/limits.ts): read models index and recurse into events, remote ones included.
 */
export const MAX_PDU_DEPTH = LIMITS.jsonDepth + 1;

/**
 * Why one of the identifier fields (`sender`, `room_id`, `event_id`, `type`, `state_key`) is too
 * long, or the event nests too deep, or its relation (`content.m.relates_to.event_id`, an event id
 * the rooms read model indexes) is longer than an identifier may be.
 */
export const identifierFieldProblem = (pdu: Pdu): PduSizeProblem | undefined => {
  for (const field of LIMITED_FIELDS) {
    const value = pdu[field];
    if (typeof value === 'string' && utf8Length(value) > Math.min(MAX_EVENT_FIELD_BYTES, MAX_IDENTIFIER_BYTES)) {
      return tooLarge(`${field} is longer than ${MAX_EVENT_FIELD_BYTES} bytes`);
    }
  }
  const relatesTo = isJsonObject(pdu.content) ? pdu.content['m.relates_to'] : undefined;
  const target = isJsonObject(relatesTo) ? relatesTo.event_id : undefined;
  if (target !== undefined) {
    // Indexed as text: any other JSON value would be indexed as its (unbounded) text.
    if (typeof target !== 'string') return { tooLarge: false, reason: 'content.m.relates_to.event_id is not a string' };
    if (!fitsBytes(target, MAX_IDENTIFIER_BYTES)) return tooLarge(`content.m.relates_to.event_id is longer than ${MAX_IDENTIFIER_BYTES} bytes`);
  }
  const shape = jsonShapeProblem(pdu, { maxDepth: MAX_PDU_DEPTH });
  if (shape !== undefined) return { tooLarge: false, reason: shape.reason };
  return undefined;
};

const totalSizeProblem = (bytes: number): PduSizeProblem | undefined =>
  bytes > MAX_PDU_BYTES ? tooLarge(`event is larger than ${MAX_PDU_BYTES} bytes`) : undefined;

/**
 * Why a PDU breaks the size limits (or has no canonical form to measure), or undefined when it
 * is within them.
 */
export const pduSizeProblem = (pdu: Pdu, options: CanonicalJsonOptions): PduSizeProblem | undefined => {
  const field = identifierFieldProblem(pdu);
  if (field !== undefined) return field;
  let text: string;
  try {
    text = canonicalJson(pdu, options);
  } catch (error) {
    if (error instanceof CanonicalJsonError) return { tooLarge: false, reason: `event is not canonical JSON: ${error.message}` };
    throw error;
  }
  // Measured in UTF-8 bytes; a string is never shorter in bytes than in code units.
  return text.length > MAX_PDU_BYTES ? totalSizeProblem(text.length) : totalSizeProblem(utf8Length(text));
};

/**
 * The canonical size of a PDU in bytes, from the canonical bytes of the PDU without some members
 * (`baseBytes`, a non-empty object) and those members, without encoding the PDU again. Adding a
 * member to a non-empty canonical object inserts exactly `,` + canonical(key) + `:` +
 * canonical(value) wherever its key sorts (before the first member, the comma follows it
 * instead: same length). Throws CanonicalJsonError when a member has no canonical form.
 */
export const canonicalSizeWith = (baseBytes: number, members: JsonObject, options: CanonicalJsonOptions): number => {
  let size = baseBytes;
  for (const key of Object.keys(members)) {
    const value = members[key];
    if (value === undefined) continue;
    // `{"k":v}` minus the braces is `"k":v`; plus the separating comma.
    size += 1 + utf8Length(canonicalJson({ [key]: value }, options)) - 2;
  }
  return size;
};

/**
 * The total size limit of a freshly built PDU, whose size the caller measured arithmetically
 * (`canonicalSizeWith`) rather than by encoding it again; its fields the caller checked with
 * identifierFieldProblem before encoding it.
 */
export const builtPduSizeProblem = (canonicalBytes: number): PduSizeProblem | undefined => totalSizeProblem(canonicalBytes);
