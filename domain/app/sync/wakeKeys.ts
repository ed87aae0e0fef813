/**
 * Which /sync long-polls a batch of room records concerns: the room (its joined members wait on
 * the room id) and the target of each membership event (an invitee waits on their user id only).
 * The composition root passes these to `notifier.notify` from the rooms projection's `onApplied`.
 */
import type { LogEntry } from '../../ports/log.ts';
import { isRoomRecord } from '../../room/index.ts';

export const roomWakeKeys = (entries: readonly LogEntry[]): string[] => {
  const keys = new Set<string>();
  for (const entry of entries) {
    const record = entry.value;
    if (!isRoomRecord(record) || record.type !== 'pdu.accepted') continue;
    keys.add(record.roomId);
    if (record.pdu.type === 'm.room.member' && typeof record.pdu.state_key === 'string') keys.add(record.pdu.state_key);
  }
  return [...keys];
};
