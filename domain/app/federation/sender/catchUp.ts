/**
 * Catch-up (Synapse's model): for each (destination, room) the sender remembers durably the latest
 * event of ours the destination has not acknowledged. Sending that one event is enough once the
 * destination is back — it fetches whatever it lacks before it with /get_missing_events — so a
 * destination that was down, or a restart with events still queued, costs one event per room.
 */
import type { OutgoingPdu } from './transaction.ts';

/** An event of ours and the servers it goes to. */
export interface PlannedSend {
  readonly pdu: OutgoingPdu;
  readonly destinations: readonly string[];
}

/** The latest undelivered event of a room for a destination. */
export interface CatchUpMark {
  readonly destination: string;
  readonly roomId: string;
  readonly eventId: string;
  readonly partition: number;
  readonly offset: number;
}

/** One mark per (destination, room) the sends touch: the newest event among them. */
export const catchUpMarks = (sends: readonly PlannedSend[]): CatchUpMark[] => {
  const marks = new Map<string, CatchUpMark>();
  for (const { pdu, destinations } of sends) {
    for (const destination of destinations) {
      const key = `${destination}\u0000${pdu.roomId}`;
      const known = marks.get(key);
      if (known !== undefined && known.offset >= pdu.offset) continue;
      marks.set(key, { destination, roomId: pdu.roomId, eventId: pdu.eventId, partition: pdu.partition, offset: pdu.offset });
    }
  }
  return [...marks.values()];
};
