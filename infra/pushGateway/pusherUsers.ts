/**
 * Which users have http pushers, remembered: the push sender asks for every event, and on most
 * servers most events reach nobody with a pusher. A pusher set or deleted through this process
 * (`tracking`) is seen at once; one changed by another process sharing the database within
 * REFRESH_MS.
 */
import type { PusherStore } from '../../domain/app/userData/index.ts';

const REFRESH_MS = 2000;

export interface PusherUsers {
  /** The users with an http pusher, at most REFRESH_MS old (or exact after a change here). */
  current(): Promise<ReadonlySet<string>>;
  /** `store`, telling these users about every change made through it. */
  tracking(store: PusherStore): PusherStore;
}

export const createPusherUsers = (store: Pick<PusherStore, 'usersWithHttpPushers'>, now: () => number = Date.now): PusherUsers => {
  let cached: { readonly at: number; readonly generation: number; readonly users: Promise<ReadonlySet<string>> } | undefined;
  let generation = 0;
  const changed = <T>(result: Promise<T>): Promise<T> => result.finally(() => { generation += 1; });
  return {
    current() {
      if (cached === undefined || cached.generation !== generation || now() - cached.at > REFRESH_MS) {
        const users = store.usersWithHttpPushers().then((list) => new Set(list));
        // A failed read is not remembered.
        users.catch(() => { if (cached?.users === users) cached = undefined; });
        cached = { at: now(), generation, users };
      }
      return cached.users;
    },
    tracking: (inner) => ({
      list: (userId) => inner.list(userId),
      usersWithHttpPushers: () => inner.usersWithHttpPushers(),
      upsert: (pusher) => changed(inner.upsert(pusher)),
      delete: (userId, appId, pushkey) => changed(inner.delete(userId, appId, pushkey)),
      deleteForOtherUsers: (appId, pushkey, keep) => changed(inner.deleteForOtherUsers(appId, pushkey, keep)),
      deleteOfDevice: (userId, deviceId) => changed(inner.deleteOfDevice(userId, deviceId)),
      deleteAllOfUser: (userId) => changed(inner.deleteAllOfUser(userId)),
    }),
  };
};
