import { describe, expect, it } from 'vitest';
import type { MessagesQuery, RoomReadModel, StoredEvent } from '../../ports/rooms.ts';
import type { AccountDataEntry } from '../../ports/userData.ts';
import type { UserPreferences } from '../rooms/index.ts';
import type { SyncContext } from './context.ts';
import { applyEntries, ignoringReadModel, inviteServed, NO_PREFERENCES, syncPreferences } from './ignored.ts';

const entry = (type: string, content: AccountDataEntry['content'], position: number, roomId: string | null = null): AccountDataEntry =>
  ({ type, content, position, roomId });
const ignore = (...users: string[]) => ({ ignored_users: Object.fromEntries(users.map((user) => [user, {}])) });

describe('applyEntries', () => {
  it('takes the newest global m.ignored_user_list and m.invite_permission_config', () => {
    const preferences = applyEntries(NO_PREFERENCES, [
      entry('m.ignored_user_list', ignore('@bob:hs'), 1), entry('m.ignored_user_list', ignore('@eve:hs'), 1, '!room:hs'),
      entry('m.invite_permission_config', { default_action: 'block' }, 2), entry('m.push_rules', {}, 3),
    ]);
    expect([...preferences.ignored]).toEqual(['@bob:hs']);
    expect(preferences.blocksInvites).toBe(true);
    expect(applyEntries(preferences, [entry('m.ignored_user_list', {}, 4)])).toEqual({ ignored: new Set(), blocksInvites: true });
  });
});

describe('syncPreferences', () => {
  const counting = () => {
    const reads = { count: 0 };
    const port: UserPreferences = {
      ignoredUsers: async () => {
        reads.count += 1;
        return new Set(['@bob:hs']);
      },
      blocksInvites: async () => false,
    };
    return { reads, ctx: { preferences: port } as unknown as SyncContext };
  };

  it('reads through the port only when nothing usable is remembered', async () => {
    const { reads, ctx } = counting();
    const none = Promise.resolve([]);
    expect([...(await syncPreferences(ctx, '@alice:hs', { since: 3, upTo: 5, entries: none })).ignored]).toEqual(['@bob:hs']);
    expect(reads.count).toBe(1);
    // The stream did not move: remembered, no read.
    await syncPreferences(ctx, '@alice:hs', { since: 5, upTo: 5, entries: none });
    // It moved without touching these types: remembered still.
    await syncPreferences(ctx, '@alice:hs', { since: 5, upTo: 7, entries: Promise.resolve([entry('m.tag', {}, 6, '!r:hs')]) });
    expect(reads.count).toBe(1);
    // The user's own change is applied from the sync's entries, still without a read.
    const changed = await syncPreferences(ctx, '@alice:hs', { since: 7, upTo: 9, entries: Promise.resolve([entry('m.ignored_user_list', {}, 8)]) });
    expect(changed.ignored.size).toBe(0);
    expect(reads.count).toBe(1);
    // An initial sync takes the account data it reads anyway.
    const initial = await syncPreferences(ctx, '@carol:hs', { upTo: 9, entries: Promise.resolve([entry('m.invite_permission_config', { default_action: 'block' }, 2)]) });
    expect(initial).toEqual({ ignored: new Set(), blocksInvites: true });
    expect(reads.count).toBe(1);
  });

  it('applies nothing without a preferences port', async () => {
    expect(await syncPreferences({} as SyncContext, '@alice:hs', { upTo: 1, entries: Promise.resolve([]) })).toBe(NO_PREFERENCES);
  });
});

const stored = (offset: number, sender: string, stateKey: string | null = null): StoredEvent =>
  ({ eventId: `$${offset}`, offset, sender, stateKey, type: stateKey === null ? 'm.room.message' : 'm.room.member' }) as StoredEvent;

describe('ignoringReadModel', () => {
  const events = [stored(1, '@carol:hs'), stored(2, '@bob:hs'), stored(3, '@bob:hs', '@bob:hs'), stored(4, '@bob:hs'), stored(5, '@bob:hs'), stored(6, '@carol:hs')];
  const queries: MessagesQuery[] = [];
  const rooms = {
    messages: async (_roomId: string, query: MessagesQuery) => {
      queries.push(query);
      const inRange = query.dir === 'b'
        ? events.filter((event) => event.offset < query.from && event.offset >= (query.to ?? 0)).reverse()
        : events.filter((event) => event.offset >= query.from && event.offset < (query.to ?? Infinity));
      return inRange.slice(0, query.limit);
    },
  } as unknown as RoomReadModel;
  const model = ignoringReadModel(rooms, new Set(['@bob:hs']));

  it('reads on until the page is full of what the user is sent, keeping state events', async () => {
    expect((await model.messages('!r', { dir: 'b', from: 7, limit: 3 })).map((event) => event.offset)).toEqual([6, 3, 1]);
    expect((await model.messages('!r', { dir: 'f', from: 0, limit: 2 })).map((event) => event.offset)).toEqual([1, 3]);
    expect((await model.messages('!r', { dir: 'b', from: 7, limit: 0 }))).toEqual([]);
    queries.length = 0;
    expect((await model.messages('!r', { dir: 'b', from: 6, to: 4, limit: 1 }))).toEqual([]);
    expect(queries.map((query) => query.limit)).toEqual([20]);
  });

  it('is the read model itself when nobody is ignored', () => {
    expect(ignoringReadModel(rooms, new Set())).toBe(rooms);
  });
});

describe('inviteServed', () => {
  const ctx = { rooms: { event: async (eventId: string) => (eventId === '$1' ? stored(1, '@bob:hs', '@alice:hs') : undefined) } } as unknown as SyncContext;
  const invite = { section: 'invite' as const, roomId: '!r', partition: 0, change: { roomId: '!r', partition: 0, offset: 1, membership: 'invite', eventId: '$1' } };

  it('hides invites from ignored users, and every invite while invites are blocked', async () => {
    expect(await inviteServed(ctx, invite, NO_PREFERENCES)).toBe(true);
    expect(await inviteServed(ctx, invite, { ignored: new Set(['@bob:hs']), blocksInvites: false })).toBe(false);
    expect(await inviteServed(ctx, invite, { ignored: new Set(['@eve:hs']), blocksInvites: false })).toBe(true);
    expect(await inviteServed(ctx, invite, { ignored: new Set(), blocksInvites: true })).toBe(false);
    expect(await inviteServed(ctx, { ...invite, section: 'knock' }, { ignored: new Set(), blocksInvites: true })).toBe(true);
  });
});
