/**
 * Which /sync long-polls a batch of room records concerns: the room (its joined members wait on
 * the room id) and the target of each membership event (an invitee waits on their user id only,
 * also for an invite to a room we are not in).
 * The composition root passes these to `notifier.notify` from the rooms projection's `onApplied`.
 */
import type { LogEntry } from '../../ports/log.ts';
import { isRoomRecord } from '../../room/index.ts';

export const roomWakeKeys = (entries: readonly LogEntry[]): string[] => {
  const keys = new Set<string>();
  for (const entry of entries) {
    const record = entry.value;
    if (!isRoomRecord(record)) continue;
    // Our user's invite, knock or rejection in a room we are not in: only they wait on it.
    if (record.type === 'membership.outOfBand') {
      if (typeof record.pdu.state_key === 'string') keys.add(record.pdu.state_key);
      continue;
    }
    // A join through another server: the imported state is news for the room's (our) members.
    if (record.type === 'state.imported') keys.add(record.roomId);
    if (record.type !== 'pdu.accepted') continue;
    keys.add(record.roomId);
    if (record.pdu.type === 'm.room.member' && typeof record.pdu.state_key === 'string') keys.add(record.pdu.state_key);
  }
  return [...keys];
};
