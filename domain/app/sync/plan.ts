/**
 * Which rooms a sync response lists, and in which section, from the user's membership changes up
 * to the response's positions (and, incrementally, the `since` positions):
 * - `join`: rooms joined now; a room the user was not joined to at `since` is new to the client and
 *   gets its full state (sync.yaml: "joined rooms … full state" on first appearance).
 * - `invite` / `knock`: the membership is current and (incrementally) changed since `since`.
 * - `leave`: incrementally, rooms left or banned from since `since` (always: the client must learn
 *   it); initially, only with the filter's `include_leave`, forgotten rooms excepted.
 */
import type { UserMembershipChange } from '../../ports/rooms.ts';
import type { RoomWindow } from './timeline.ts';

export type RoomPlan =
  | { readonly section: 'join' | 'leave'; readonly roomId: string; readonly partition: number; readonly changes: readonly UserMembershipChange[];
      readonly window: Omit<RoomWindow, 'visibleFrom'>; readonly newToClient: boolean }
  | { readonly section: 'invite' | 'knock'; readonly roomId: string; readonly partition: number; readonly change: UserMembershipChange };

export interface PlanOptions {
  readonly upTo: ReadonlyMap<number, number>;
  readonly since?: ReadonlyMap<number, number>;
  readonly fullState: boolean;
  readonly includeLeave: boolean;
  readonly forgotten: ReadonlySet<string>;
  readonly roomAllowed: (roomId: string) => boolean;
}

const byRoom = (changes: readonly UserMembershipChange[]): Map<string, UserMembershipChange[]> => {
  const rooms = new Map<string, UserMembershipChange[]>();
  for (const change of changes) {
    let list = rooms.get(change.roomId);
    if (list === undefined) rooms.set(change.roomId, (list = []));
    list.push(change);
  }
  return rooms;
};

const planRoom = (roomId: string, changes: readonly UserMembershipChange[], options: PlanOptions): RoomPlan | undefined => {
  const latest = changes[changes.length - 1]!;
  const partition = latest.partition;
  const to = options.upTo.get(partition) ?? 0;
  const from = options.since === undefined ? undefined : Math.min(options.since.get(partition) ?? 0, to);
  const atSince = from === undefined ? undefined : changes.findLast((change) => change.offset < from);
  const changedSince = from === undefined || latest.offset >= from;
  const joinedInWindow = from !== undefined && changes.some((change) => change.offset >= from && change.membership === 'join');

  switch (latest.membership) {
    case 'join': {
      const wasJoined = atSince?.membership === 'join';
      const window = from === undefined || !wasJoined
        ? { roomId, to, fullState: true }
        : { roomId, to, from, fullState: options.fullState };
      return { section: 'join', roomId, partition, changes, window, newToClient: from === undefined || !wasJoined };
    }
    case 'invite':
    case 'knock':
      return changedSince ? { section: latest.membership, roomId, partition, change: latest } : undefined;
    default: {
      const end = latest.offset + 1;
      const everJoined = changes.some((change) => change.membership === 'join');
      if (from === undefined) {
        if (!options.includeLeave || options.forgotten.has(roomId)) return undefined;
        const window = everJoined ? { roomId, to: end, fullState: true } : { roomId, to: end, from: latest.offset, fullState: false };
        return { section: 'leave', roomId, partition, changes, window, newToClient: true };
      }
      if (!changedSince) return undefined;
      // Joined before `since`: the rest of the timeline up to the leave; joined and left in the
      // window: the room as new; never joined (a rejected or withdrawn invite): just the leave.
      const window = atSince?.membership === 'join' ? { roomId, to: end, from, fullState: options.fullState }
        : joinedInWindow ? { roomId, to: end, fullState: true }
          : { roomId, to: end, from: latest.offset, fullState: false };
      return { section: 'leave', roomId, partition, changes, window, newToClient: atSince?.membership !== 'join' };
    }
  }
};

export const planRooms = (changes: readonly UserMembershipChange[], options: PlanOptions): RoomPlan[] => {
  const plans: RoomPlan[] = [];
  for (const [roomId, ofRoom] of byRoom(changes)) {
    if (!options.roomAllowed(roomId)) continue;
    const plan = planRoom(roomId, ofRoom, options);
    if (plan !== undefined) plans.push(plan);
  }
  return plans;
};
