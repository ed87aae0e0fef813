import { describe, expect, it } from 'vitest';
import type { Pusher, PusherStore } from '../../domain/app/userData/index.ts';
import { createPusherUsers } from './pusherUsers.ts';

/** A store whose rows are a list, counting how often the users are read. */
const storeOf = () => {
  let rows: Pusher[] = [];
  const counter = { reads: 0 };
  const store: PusherStore = {
    list: async (userId) => rows.filter((p) => p.userId === userId),
    upsert: async (pusher) => { rows = [...rows.filter((p) => p.pushkey !== pusher.pushkey), pusher]; },
    delete: async (userId, appId, pushkey) => { rows = rows.filter((p) => !(p.userId === userId && p.appId === appId && p.pushkey === pushkey)); },
    deleteForOtherUsers: async () => undefined,
    deleteOfDevice: async () => undefined,
    deleteAllOfUser: async (userId) => { rows = rows.filter((p) => p.userId !== userId); },
    usersWithHttpPushers: async () => {
      counter.reads += 1;
      return [...new Set(rows.filter((p) => p.kind === 'http').map((p) => p.userId))];
    },
  };
  return { store, counter, setRows: (next: Pusher[]) => { rows = next; } };
};

const pusher = (userId: string, pushkey: string): Pusher => ({
  userId, appId: 'app', pushkey, kind: 'http', appDisplayName: '', deviceDisplayName: '', profileTag: '', lang: 'en',
  data: { url: 'https://gw/_matrix/push/v1/notify' }, deviceId: 'D', createdTs: 0, pushkeyTs: 0,
});

describe('pusher users', () => {
  it('reads once per refresh period, at once after a change made through the tracking store', async () => {
    const { store, counter, setRows } = storeOf();
    let now = 0;
    const users = createPusherUsers(store, () => now);
    const tracked = users.tracking(store);
    expect([...await users.current()]).toEqual([]);
    expect([...await users.current()]).toEqual([]);
    expect(counter.reads).toBe(1);

    await tracked.upsert(pusher('@alice:hs', 'k1'));
    expect([...await users.current()]).toEqual(['@alice:hs']);
    expect(counter.reads).toBe(2);

    // Another process's change is seen once the refresh period has passed.
    setRows([pusher('@alice:hs', 'k1'), pusher('@bob:hs', 'k2')]);
    now = 1000;
    expect([...await users.current()]).toEqual(['@alice:hs']);
    now = 2500;
    expect([...await users.current()].sort()).toEqual(['@alice:hs', '@bob:hs']);

    await tracked.deleteAllOfUser('@alice:hs');
    expect([...await users.current()]).toEqual(['@bob:hs']);
  });
});
