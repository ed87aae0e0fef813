/**
 * Redundant membership events (client-server-api § Lazy-loading room members): with
 * `lazy_load_members` and without `include_redundant_members`, a member event a device was already
 * sent — in `state` or in the timeline — is not sent to it again while it is still that member's
 * event. As in Synapse, a sync without `since` starts the device over (the client may have lost
 * everything); so does `full_state`, which asks for all state.
 */
import type { StoredEvent } from '../../ports/rooms.ts';
import { BoundedMap } from '../../boundedMap.ts';
import { MAX_LAZY_MEMBERS_PER_DEVICE } from './memo.ts';

export interface SentMembers {
  /** Whether this exact member event was sent to the device before. */
  wasSent(event: StoredEvent): boolean;
  /** Records the member events among `events` as sent. */
  record(events: readonly StoredEvent[]): void;
}

/**
 * The members whose member events a lazy-loading client needs to show `events`: each sender, unless
 * their member event came earlier in the timeline itself (Synapse's rule; not for `state_after`,
 * which the client applies instead of the timeline's state events); and, when the full state is
 * sent (a room new to the client, `full_state`), the user, who MUST learn their own membership
 * (client-server-api § Lazy-loading room members).
 */
export const lazyMembersNeeded = (
  events: readonly StoredEvent[], userId: string, options: { readonly fullState: boolean; readonly stateAfter: boolean },
): Set<string> => {
  const needed = new Set<string>(options.fullState ? [userId] : []);
  const inTimeline = new Set<string>();
  for (const event of events) {
    if (options.stateAfter || !inTimeline.has(event.sender)) needed.add(event.sender);
    if (event.type === 'm.room.member' && event.stateKey !== null) inTimeline.add(event.stateKey);
  }
  return needed;
};

const keyOf = (event: StoredEvent): string => `${event.roomId}\u0000${event.stateKey ?? ''}`;

/**
 * The device's record in `devices` (`user\0device` → `room\0user` → event id), emptied first when
 * `startOver`.
 */
export const sentMembersOf = (devices: BoundedMap<string, BoundedMap<string, string>>, device: string, startOver: boolean): SentMembers => {
  let sent = startOver ? undefined : devices.get(device);
  if (sent === undefined) sent = new BoundedMap(MAX_LAZY_MEMBERS_PER_DEVICE);
  devices.set(device, sent);
  const members = sent;
  return {
    wasSent: (event) => event.type === 'm.room.member' && members.get(keyOf(event)) === event.eventId,
    record(events) {
      for (const event of events) {
        if (event.type === 'm.room.member' && event.stateKey !== null) members.set(keyOf(event), event.eventId);
      }
    },
  };
};
