/**
 * Unread notification counts from evaluated events and the user's read receipts
 * (client-server-api/modules/push.md § Marking notifications as read, receipts.md § Threaded read
 * receipts). Both `m.read` and `m.read.private` clear notifications, whichever is further ahead; an
 * unthreaded receipt clears every thread, a threaded one (`main` or a root id) only its own.
 */
import { isJsonObject, type JsonObject } from '../../json.ts';
import type { EvaluatedEvent } from './evaluation.ts';

export interface Counts {
  readonly notifications: number;
  readonly highlights: number;
}

/** One of the user's own read receipts in a room. */
export interface OwnReceipt {
  readonly eventId: string;
  /** Absent for an unthreaded receipt. */
  readonly threadId?: string;
}

/** Log offsets the user has read up to: all threads (receipts without a thread, or the join), and per thread. */
export interface ReadUpTo {
  readonly unthreaded: number;
  readonly threads: ReadonlyMap<string, number>;
}

const READ_RECEIPT_TYPES = ['m.read', 'm.read.private'];

/** The user's own read receipts in a room's `m.receipt` content (`{ eventId: { type: { userId: { thread_id? } } } }`). */
export const ownReceiptsIn = (userId: string, content: JsonObject): OwnReceipt[] => {
  const own: OwnReceipt[] = [];
  for (const [eventId, byType] of Object.entries(content)) {
    if (!isJsonObject(byType)) continue;
    for (const type of READ_RECEIPT_TYPES) {
      const byUser = byType[type];
      const receipt = isJsonObject(byUser) ? byUser[userId] : undefined;
      if (!isJsonObject(receipt)) continue;
      own.push(typeof receipt.thread_id === 'string' ? { eventId, threadId: receipt.thread_id } : { eventId });
    }
  }
  return own;
};

/** Read-up-to offsets from receipts whose event offsets are known (`offsets`), and the user's join. */
export const readUpTo = (receipts: readonly OwnReceipt[], offsets: ReadonlyMap<string, number>, joinedAt: number): ReadUpTo => {
  let unthreaded = joinedAt;
  const threads = new Map<string, number>();
  for (const receipt of receipts) {
    const offset = offsets.get(receipt.eventId);
    if (offset === undefined) continue;
    if (receipt.threadId === undefined) unthreaded = Math.max(unthreaded, offset);
    else threads.set(receipt.threadId, Math.max(threads.get(receipt.threadId) ?? -1, offset));
  }
  return { unthreaded, threads };
};

/**
 * Where the events to count start: after the unthreaded receipt (or the join). A threaded receipt
 * cannot move it: a thread without a receipt of its own is unread since then.
 */
export const countFrom = (read: ReadUpTo): number => read.unthreaded;

/** A stable key for a ReadUpTo (the count cache compares them). */
export const readUpToKey = (read: ReadUpTo): string =>
  JSON.stringify([read.unthreaded, [...read.threads.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))]);

export const isRead = (read: ReadUpTo, thread: string, offset: number): boolean =>
  offset <= Math.max(read.unthreaded, read.threads.get(thread) ?? -1);

/** Adds the unread notifying events to per-thread counts (`main` for the main timeline); returns a new map. */
export const tally = (counts: ReadonlyMap<string, Counts>, evaluated: readonly EvaluatedEvent[], read: ReadUpTo): Map<string, Counts> => {
  const result = new Map(counts);
  for (const { event, thread, evaluation } of evaluated) {
    if (!evaluation.notify || isRead(read, thread, event.offset)) continue;
    const before = result.get(thread) ?? { notifications: 0, highlights: 0 };
    result.set(thread, { notifications: before.notifications + 1, highlights: before.highlights + (evaluation.highlight ? 1 : 0) });
  }
  return result;
};

const body = (counts: Counts): JsonObject => ({ notification_count: counts.notifications, highlight_count: counts.highlights });

/**
 * The sync response fields. sync.yaml: with `unread_thread_notifications` the room counts cover the
 * main timeline only and threads are listed by root (threads without notifications left out);
 * without, the room counts cover every thread.
 */
export const unreadFields = (counts: ReadonlyMap<string, Counts>, threaded: boolean): JsonObject => {
  const main = counts.get('main') ?? { notifications: 0, highlights: 0 };
  if (!threaded) {
    let notifications = 0;
    let highlights = 0;
    for (const c of counts.values()) {
      notifications += c.notifications;
      highlights += c.highlights;
    }
    return { unread_notifications: body({ notifications, highlights }) };
  }
  const threads: JsonObject = {};
  for (const [root, c] of counts) if (root !== 'main' && c.notifications > 0) threads[root] = body(c);
  return { unread_notifications: body(main), ...(Object.keys(threads).length === 0 ? {} : { unread_thread_notifications: threads }) };
};
