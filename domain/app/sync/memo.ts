/**
 * What a SyncService remembers between requests, per process. Every entry only lets a later
 * request skip a read whose answer it already knows; without it (another process, an evicted
 * entry) the read runs and the response is the same — lazy-loaded members excepted, where the spec
 * allows the redundancy (client-server-api § Lazy-loading room members).
 */
import { BoundedMap } from '../../boundedMap.ts';
import type { StoredEvent } from '../../ports/rooms.ts';
import type { OwnReceipt } from '../notifications/index.ts';
import type { Filter } from '../userData/index.ts';
import { MAX_UNREAD_COUNTS, type UnreadCounts } from './unread.ts';

/**
 * What the last response to a device was computed from: its token, the notifier counter read before
 * its positions, and the keys it would wait on. A client long-polls with that token next; until one
 * of the keys is notified after the counter, computing again would find nothing new, so the request
 * waits first instead of running every stream's queries for an empty answer.
 */
export interface QuietSince {
  readonly token: string;
  readonly filter: string | undefined;
  readonly counter: number;
  readonly keys: readonly string[];
  /**
   * The response held no to-device message: a request from its token has nothing to acknowledge,
   * so while the to-device stream stays put its read is skipped.
   */
  readonly toDeviceEmpty: boolean;
  /** When the response was computed (the clock's milliseconds). */
  readonly answeredAt: number;
}

export interface SyncMemo {
  /** Per device (`user\0device`), least recently answered dropped first. */
  readonly quiet: BoundedMap<string, QuietSince>;
  readonly unread: UnreadCounts;
  /** Stored filters by `user\0filter id`: a filter id names one filter for good (POST /filter). */
  readonly filters: BoundedMap<string, Filter>;
  /** Per user: the presence last seen stored, and the presence stream position it was seen at. */
  readonly presence: BoundedMap<string, { readonly presence: string; readonly position: number }>;
  /** Per `user\0room`: the user's own read receipts by `type\0thread`, as of a receipts stream position. */
  readonly ownReceipts: BoundedMap<string, { readonly position: number; readonly receipts: ReadonlyMap<string, OwnReceipt> }>;
  /** Events read receipts point at, by event id (ownReceipts.ts `receiptTargets`). */
  readonly receiptTargets: BoundedMap<string, StoredEvent>;
  /**
   * Per device (`user\0device`): the member events it was sent while lazy-loading, `room\0user` →
   * event id, so they are not sent again (`include_redundant_members: false`).
   */
  readonly lazyMembers: BoundedMap<string, BoundedMap<string, string>>;
}

export const MAX_REMEMBERED_DEVICES = 50_000;
export const MAX_REMEMBERED_FILTERS = 10_000;
export const MAX_REMEMBERED_ROOMS = 100_000;
export const MAX_REMEMBERED_EVENTS = 10_000;
/** Member events remembered per device; the oldest are forgotten (and then sent again if needed). */
export const MAX_LAZY_MEMBERS_PER_DEVICE = 20_000;

export const createSyncMemo = (): SyncMemo => ({
  quiet: new BoundedMap(MAX_REMEMBERED_DEVICES), unread: new BoundedMap(MAX_UNREAD_COUNTS),
  filters: new BoundedMap(MAX_REMEMBERED_FILTERS), presence: new BoundedMap(MAX_REMEMBERED_DEVICES),
  ownReceipts: new BoundedMap(MAX_REMEMBERED_ROOMS), receiptTargets: new BoundedMap(MAX_REMEMBERED_EVENTS),
  lazyMembers: new BoundedMap(MAX_REMEMBERED_DEVICES),
});

/**
 * Remembers `entry` (whose `answer` is still being read) as the most recently used entry, and forgets it again
 * if that read fails, so a failure is not served from memory.
 */
export const rememberAnswer = <K, E extends { readonly answer: Promise<unknown> }>(map: BoundedMap<K, E>, key: K, entry: E): void => {
  map.set(key, entry);
  entry.answer.catch(() => {
    if (map.get(key) === entry) map.delete(key);
  });
};

/**
 * Forgets everything remembered about `userId` (their counts and push context, which holds their
 * display name, their receipts, presence and devices' entries): after erasure nothing of theirs may
 * stay in memory (docs/erasure.md).
 */
export const forgetUserInMemo = (memo: SyncMemo, userId: string): void => {
  const prefix = `${userId}\u0000`;
  for (const map of [memo.quiet, memo.unread, memo.filters, memo.presence, memo.ownReceipts, memo.lazyMembers] as BoundedMap<string, unknown>[]) {
    for (const key of [...map.keys()]) if (key === userId || key.startsWith(prefix)) map.delete(key);
  }
};
