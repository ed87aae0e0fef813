/**
 * Event size limits (client-server-api § Size limits): the whole PDU, signatures included, at most
 * 65,536 bytes of canonical JSON; `sender`, `room_id`, `event_id` within the 255-byte identifier
 * limit; `type` and `state_key` at most 255 bytes each.
 */
import { canonicalJson, CanonicalJsonError, type CanonicalJsonOptions } from '../canonicalJson.ts';
import { MAX_IDENTIFIER_BYTES, utf8Length } from '../ids/index.ts';
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
 * Why a PDU breaks the size limits (or has no canonical form to measure), or undefined when it
 * is within them.
 */
export const pduSizeProblem = (pdu: Pdu, options: CanonicalJsonOptions): PduSizeProblem | undefined => {
  for (const field of LIMITED_FIELDS) {
    const value = pdu[field];
    if (typeof value === 'string' && utf8Length(value) > Math.min(MAX_EVENT_FIELD_BYTES, MAX_IDENTIFIER_BYTES)) {
      return tooLarge(`${field} is longer than ${MAX_EVENT_FIELD_BYTES} bytes`);
    }
  }
  let text: string;
  try {
    text = canonicalJson(pdu, options);
  } catch (error) {
    if (error instanceof CanonicalJsonError) return { tooLarge: false, reason: `event is not canonical JSON: ${error.message}` };
    throw error;
  }
  // Measured in UTF-8 bytes; a string is never shorter in bytes than in code units.
  if (text.length > MAX_PDU_BYTES || utf8Length(text) > MAX_PDU_BYTES) return tooLarge(`event is larger than ${MAX_PDU_BYTES} bytes`);
  return undefined;
};
