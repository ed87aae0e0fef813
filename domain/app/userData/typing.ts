/**
 * Typing notifications (client-server-api § Typing Notifications, typing.yaml): kept in memory, with
 * a timeout per user. Each change of a room's typing set takes the next position of the stream;
 * /sync sends a room's full current set (`m.typing` carries the whole list) when it changed.
 */
import type { Notifier } from '../notifier/index.ts';

export interface TypingStream {
  /** `typing` false (or timeout passing) removes the user from the room's typing set. */
  setTyping(roomId: string, userId: string, typing: boolean, timeoutMs: number): void;
  currentPosition(): number;
  /** Rooms among `roomIds` whose typing set changed in (since, upTo], with who types now. */
  changesSince(roomIds: readonly string[], since: number, upTo: number): { roomId: string; userIds: string[] }[];
  /** Cancels the pending timeouts (shutdown). */
  close(): void;
}

/** Schedules `run` after `ms`; returns a cancel function. Injected so tests control time. */
export type Schedule = (run: () => void, ms: number) => () => void;

const defaultSchedule: Schedule = (run, ms) => {
  const timer = setTimeout(run, ms);
  timer.unref?.();
  return () => clearTimeout(timer);
};

/** Synapse caps the timeout too: a client cannot pin itself as typing for hours. */
export const MAX_TYPING_TIMEOUT_MS = 120_000;

/**
 * `onExpired` hears of each user whose timeout passed (no stop arrived): other servers must be
 * told our user stopped typing.
 */
export const createTypingStream = (
  notifier: Notifier, schedule: Schedule = defaultSchedule, onExpired?: (roomId: string, userId: string) => void,
): TypingStream => {
  let position = 0;
  const typers = new Map<string, Map<string, () => void>>(); // room → user → cancel timeout
  const changedAt = new Map<string, number>();

  const bump = (roomId: string): void => {
    position += 1;
    changedAt.set(roomId, position);
    notifier.notify([roomId]);
  };

  const stop = (roomId: string, userId: string): boolean => {
    const room = typers.get(roomId);
    const cancel = room?.get(userId);
    if (room === undefined || cancel === undefined) return false;
    cancel();
    room.delete(userId);
    if (room.size === 0) typers.delete(roomId);
    return true;
  };

  return {
    setTyping(roomId, userId, typing, timeoutMs) {
      const wasTyping = stop(roomId, userId);
      if (!typing) {
        if (wasTyping) bump(roomId);
        return;
      }
      let room = typers.get(roomId);
      if (room === undefined) typers.set(roomId, (room = new Map()));
      room.set(userId, schedule(() => {
        if (!stop(roomId, userId)) return;
        bump(roomId);
        onExpired?.(roomId, userId);
      }, Math.min(Math.max(timeoutMs, 0), MAX_TYPING_TIMEOUT_MS)));
      // Refreshing the timeout of a user already typing changes nothing others can see.
      if (!wasTyping) bump(roomId);
    },
    currentPosition: () => position,
    changesSince(roomIds, since, upTo) {
      return roomIds
        .filter((roomId) => {
          const at = changedAt.get(roomId) ?? 0;
          return at > since && at <= upTo;
        })
        .map((roomId) => ({ roomId, userIds: [...(typers.get(roomId)?.keys() ?? [])] }));
    },
    close() {
      for (const room of typers.values()) for (const cancel of room.values()) cancel();
      typers.clear();
    },
  };
};
