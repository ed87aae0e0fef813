/**
 * Where each /sync computation starts, held in memory: every stream's position and the user's
 * membership changes below them (SyncReadModel.positionsWithMembershipChanges), so a long-poll woken
 * by a room's new event computes its answer without first asking the database where things stand.
 *
 * What is held comes from the database's own answers (`remember`, after each statement the
 * held values could not replace) and moves with what this process commits:
 * - the rooms projection's positions and each room's newest offset move with every batch the
 *   projection commits (`observe`, called before anyone is woken);
 * - a user's membership changes are held until a committed record could change anyone's: a state
 *   change or any record but a plain accepted event forgets them all (rare next to messages);
 * - the user-data streams' positions are held until anything but the rooms projection notifies
 *   (`streamsMoved`: every stream write notifies once committed), and at most `streamsTtlMs`,
 *   which bounds what a write that wakes no one waits to be seen.
 * A database answer is remembered only if nothing it could predate was observed while it was read.
 * One process writes a deployment's rooms and streams (README), so nothing moves them unseen.
 */
import { BoundedMap, isRoomRecord, type LogEntry, type UserDataPositions } from '../../domain/index.ts';
import type { UserMembershipChange } from '../../domain/app/rooms/index.ts';
import type { Notifier } from '../../domain/app/notifier/index.ts';

/** Users whose membership changes are held (least recently remembered forgotten first). */
export const SYNC_START_USERS = 10_000;
/** How long the user-data streams' positions are held without a notification. */
export const DEFAULT_STREAMS_TTL_MS = 1_000;

export interface SyncStart {
  readonly rooms: Map<number, number>;
  readonly streams: UserDataPositions;
  readonly changes: UserMembershipChange[];
}

export interface SyncStarts {
  /** The start for `userId` from memory, or undefined when the database has to be asked. */
  held(userId: string): SyncStart | undefined;
  /** Marks the beginning of a read whose answers go to `remember`. */
  begin(): SyncStartRead;
  /** A database answer read since `read` began; kept unless something it may predate was observed. */
  remember(read: SyncStartRead, answers: ReadonlyMap<string, SyncStart>): void;
  /** A batch the rooms projection committed, up to `nextOffset` of its partition. */
  observe(batch: { readonly partition: number; readonly entries: readonly LogEntry[]; readonly nextOffset: number }): void;
  /** A user-data stream may have moved (anything notified but the rooms projection). */
  streamsMoved(): void;
}

export interface SyncStartRead {
  readonly memberships: number;
  readonly streams: number;
  readonly forgottenRooms: number;
  readonly at: number;
}

/** A record that changes no membership: an accepted event outside the room state. */
const changesNoMembership = (entry: LogEntry): boolean => {
  const record = entry.value;
  return isRoomRecord(record) && record.type === 'pdu.accepted' && record.v === 2 && record.stateDelta.length === 0
    && record.pdu.state_key === undefined;
};

export const createSyncStarts = (options: { readonly now: () => number; readonly streamsTtlMs?: number }): SyncStarts => {
  const streamsTtlMs = options.streamsTtlMs ?? DEFAULT_STREAMS_TTL_MS;
  const rooms = new Map<number, number>();
  /** Each room's newest offset observed or read: an upper bound of `rooms.last_offset`, as /sync may use it. */
  // A room forgotten while a read was under way may be raised by it to an older value: such a read is not kept.
  let forgottenRooms = 0;
  const roomLastOffsets = new BoundedMap<string, number>(SYNC_START_USERS * 10, () => void (forgottenRooms += 1));
  const changes = new BoundedMap<string, readonly UserMembershipChange[]>(SYNC_START_USERS);
  let streams: { readonly positions: UserDataPositions; readonly readAt: number } | undefined;
  /** Bumped when a committed record may change memberships / when a stream may have moved. */
  let memberships = 0;
  let streamMoves = 0;

  const raise = (roomId: string, offset: number): void => {
    const known = roomLastOffsets.get(roomId);
    if (known === undefined || offset > known) roomLastOffsets.set(roomId, offset);
  };

  return {
    held(userId) {
      const held = changes.get(userId);
      if (held === undefined || streams === undefined || options.now() >= streams.readAt + streamsTtlMs) return undefined;
      const withLastOffsets: UserMembershipChange[] = [];
      for (const change of held) {
        // Never below the room's newest offset (only over-stated: /sync then reads a room with
        // nothing new); a room forgotten here is asked for again.
        const lastOffset = roomLastOffsets.get(change.roomId);
        if (lastOffset === undefined) return undefined;
        withLastOffsets.push({ ...change, roomLastOffset: lastOffset });
      }
      return { rooms: new Map(rooms), streams: streams.positions, changes: withLastOffsets };
    },
    begin: () => ({ memberships, streams: streamMoves, forgottenRooms, at: options.now() }),
    remember(read, answers) {
      const [first] = answers.values();
      if (first === undefined) return;
      if (read.forgottenRooms !== forgottenRooms) return;
      const current = read.memberships === memberships;
      for (const change of [...answers.values()].flatMap((answer) => answer.changes)) {
        if (change.roomLastOffset !== undefined) raise(change.roomId, change.roomLastOffset);
      }
      // The database may be ahead of `observe` (a commit whose batch is not observed yet): the
      // changes held for other users may predate that commit, so they go; this answer's own are
      // of the same snapshot as the positions it brings.
      let ahead = false;
      for (const [partition, next] of first.rooms) {
        if (next > (rooms.get(partition) ?? -1)) {
          rooms.set(partition, next);
          ahead = true;
        }
      }
      if (ahead) {
        memberships += 1;
        changes.clear();
      }
      if (read.streams === streamMoves) streams = { positions: first.streams, readAt: read.at };
      if (current) for (const [userId, answer] of answers) changes.set(userId, answer.changes);
    },
    observe(batch) {
      if (batch.nextOffset > (rooms.get(batch.partition) ?? -1)) rooms.set(batch.partition, batch.nextOffset);
      let forget = false;
      for (const entry of batch.entries) {
        const record = entry.value;
        if (isRoomRecord(record)) raise(record.roomId, entry.offset);
        if (!forget && !changesNoMembership(entry)) forget = true;
      }
      if (forget) {
        memberships += 1;
        changes.clear();
      }
    },
    streamsMoved() {
      streamMoves += 1;
      streams = undefined;
    },
  };
};

/**
 * `notifier` for everything but the rooms projection: each notification first tells `starts` that a
 * user-data stream may have moved, so no /sync it wakes starts from positions held before.
 */
export const notifyingStreamsMoved = (notifier: Notifier, starts: SyncStarts): Notifier => ({
  ...notifier,
  notify(keys) {
    starts.streamsMoved();
    notifier.notify(keys);
  },
});
