/** Behaviour every PusherStore must show, run against PostgreSQL and PGlite by userDataStores.int.test.ts. */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pusher, UserDataStores } from '../../domain/app/userData/index.ts';
import type { OpenedStores } from './userDataStoresContract.ts';

/** Unique per run: the PostgreSQL database outlives test runs. */
const unique = (name: string): string => `${name}-${randomUUID().slice(0, 8)}`;

const pusher = (userId: string, appId: string, pushkey: string, fields: Partial<Pusher> = {}): Pusher => ({
  userId, appId, pushkey,
  kind: 'http', appDisplayName: 'App', deviceDisplayName: 'Phone', profileTag: '', lang: 'en',
  data: { url: 'https://push.example.org/_matrix/push/v1/notify' }, deviceId: 'PHONE', createdTs: 1000, pushkeyTs: 1000,
  ...fields,
});

export const describePusherStoreContract = (name: string, open: () => Promise<OpenedStores>): void => {
  describe(`pusher store on ${name}`, () => {
    let opened: OpenedStores;
    let stores: UserDataStores;
    beforeAll(async () => {
      opened = await open();
      stores = opened.stores;
    });
    afterAll(() => opened.close());

    it('creates, updates by app_id and pushkey (keeping its creation time, moving pushkey_ts), and deletes one pusher', async () => {
      const alice = `@${unique('alice')}:example.org`;
      await stores.pushers.upsert(pusher(alice, 'org.example.app', 'key1'));
      await stores.pushers.upsert(pusher(alice, 'org.example.app', 'key2', { createdTs: 2000 }));
      await stores.pushers.upsert(pusher(alice, 'org.example.app', 'key1', { lang: 'de', data: { url: 'https://x/_matrix/push/v1/notify', format: 'event_id_only' }, createdTs: 3000, pushkeyTs: 3000 }));
      expect(await stores.pushers.list(alice)).toEqual([
        pusher(alice, 'org.example.app', 'key1', { lang: 'de', data: { url: 'https://x/_matrix/push/v1/notify', format: 'event_id_only' }, pushkeyTs: 3000 }),
        pusher(alice, 'org.example.app', 'key2', { createdTs: 2000 }),
      ]);
      await stores.pushers.delete(alice, 'org.example.app', 'key1');
      expect((await stores.pushers.list(alice)).map((p) => p.pushkey)).toEqual(['key2']);
    });

    it('drops other users’ pushers with the same key, and all of one user’s', async () => {
      const [alice, bob] = [`@${unique('alice')}:example.org`, `@${unique('bob')}:example.org`];
      const key = unique('shared');
      await stores.pushers.upsert(pusher(alice, 'org.example.app', key));
      await stores.pushers.upsert(pusher(bob, 'org.example.app', key));
      await stores.pushers.upsert(pusher(bob, 'org.example.other', key));
      await stores.pushers.deleteForOtherUsers('org.example.app', key, alice);
      expect((await stores.pushers.list(alice)).map((p) => p.pushkey)).toEqual([key]);
      expect((await stores.pushers.list(bob)).map((p) => p.appId)).toEqual(['org.example.other']);
      await stores.pushers.upsert(pusher(bob, 'org.example.third', key, { deviceId: 'LAPTOP' }));
      await stores.pushers.deleteOfDevice(bob, 'PHONE');
      expect((await stores.pushers.list(bob)).map((p) => p.appId)).toEqual(['org.example.third']);
      await stores.pushers.deleteAllOfUser(bob);
      expect(await stores.pushers.list(bob)).toEqual([]);
      expect(await stores.pushers.list(alice)).toHaveLength(1);
    });

    it('lists the users with http pushers', async () => {
      const [carol, dave] = [`@${unique('carol')}:example.org`, `@${unique('dave')}:example.org`];
      await stores.pushers.upsert(pusher(carol, 'org.example.app', unique('key')));
      await stores.pushers.upsert(pusher(dave, 'org.example.app', unique('key'), { kind: 'email' }));
      const users = await stores.pushers.usersWithHttpPushers();
      expect(users).toContain(carol);
      expect(users).not.toContain(dave);
      await stores.pushers.deleteAllOfUser(carol);
      expect(await stores.pushers.usersWithHttpPushers()).not.toContain(carol);
    });
  });
};
