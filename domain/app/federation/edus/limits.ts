/**
 * Bounds on the EDUs another server sends us (as domain/limits.ts bounds what clients send). An EDU
 * past them is skipped whole, the rest of its transaction is applied. Where the spec is silent, a
 * bound sits well above what Synapse sends: it splits its queues per transaction (at most 100 EDUs,
 * server-server-api § Transactions), sends one m.device_list_update per device, and batches
 * to-device messages by sender and type.
 */
import { MAX_IDENTIFIER_BYTES } from '../../../ids/index.ts';

export const EDU_LIMITS = {
  /** EDUs one transaction may carry (§ Transactions: "at most 100 EDUs"); the rest are skipped. */
  edusPerTransaction: 100,
  /**
   * One EDU, as JSON text. The largest legitimate ones are to-device batches carrying room keys to
   * every device of a large room (about 1 KiB per device).
   */
  eduBytes: 1_048_576,
  /** Identifiers and types (user, room, event and device ids, event types): the spec's identifier bound. */
  identifierBytes: MAX_IDENTIFIER_BYTES,
  /** m.direct_to_device `message_id` (spec: "maximum length 32 codepoints"; more tolerated up to an identifier). */
  messageIdBytes: MAX_IDENTIFIER_BYTES,
  /** m.receipt: rooms in one EDU. */
  receiptRooms: 100,
  /** m.receipt: users in one room of one EDU. */
  receiptUsersPerRoom: 1_000,
  /** m.presence: updates in one EDU. */
  presenceUpdates: 1_000,
  /** m.presence `status_msg`, in UTF-8 bytes. */
  statusMessageBytes: 2_048,
  /** m.device_list_update `prev_id` entries. */
  prevIds: 100,
  /** m.direct_to_device: messages (user × device, `*` once per user), as the client API's bound. */
  toDeviceMessages: 10_000,
} as const;
