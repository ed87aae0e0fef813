import { describe, expect, it } from 'vitest';
import { MatrixError } from '../../errors.ts';
import type { Pdu } from '../../events/index.ts';
import type { JsonObject } from '../../json.ts';
import type { NotificationCandidate, StoredEvent } from '../../ports/rooms.ts';
import { effectiveRuleset } from '../userData/index.ts';
import { getNotifications, SCAN_BUDGET, type NotificationsContext } from './index.ts';

const ME = '@alice:x';
const BOB = '@bob:x';
const ME_DEVICE = { userId: ME, deviceId: 'D' };

/** Rooms on one log partition (offsets shared), as the read model would serve them. */
const server = () => {
  const events: StoredEvent[] = [];
  const receipts = new Map<string, JsonObject>();
  const add = (roomId: string, sender: string, type: string, content: JsonObject, stateKey?: string): StoredEvent => {
    const offset = events.length;
    const event: StoredEvent = {
      eventId: `$e${String(offset).padStart(4, '0')}`, roomId, roomVersion: '10', partition: 0, offset, type, stateKey: stateKey ?? null,
      sender, originServerTs: 1000 + offset, pdu: { type, sender, content, room_id: roomId } as unknown as Pdu, redactedBecause: null,
      local: null, replacesState: null, prevContent: null,
    };
    events.push(event);
    return event;
  };
  const room = (roomId: string, members: number): void => {
    add(roomId, BOB, 'm.room.create', { creator: BOB }, '');
    add(roomId, BOB, 'm.room.power_levels', { users: { [BOB]: 100 } }, '');
    add(roomId, ME, 'm.room.member', { membership: 'join' }, ME);
    for (let i = 1; i < members; i++) add(roomId, `@m${i}:x`, 'm.room.member', { membership: 'join' }, `@m${i}:x`);
  };
  const ctx: NotificationsContext = {
    rooms: { event: async (id) => events.find((event) => event.eventId === id) },
    sync: {
      unreadWindow: async (roomId, userId, after, before, withState) => {
        const inRoom = events.filter((event) => event.roomId === roomId);
        const window = inRoom.filter((event) => event.offset > after && event.offset < before && (event.sender !== userId || event.stateKey !== null));
        const joined = inRoom.filter((event) => event.offset <= after && event.type === 'm.room.member').length;
        const find = (type: string) => inRoom.find((event) => event.offset <= after && event.type === type);
        return withState ? { events: window, stateBefore: { joinedMembers: joined, powerLevels: find('m.room.power_levels')!, create: find('m.room.create')! } } : { events: window };
      },
    },
    notifications: {
      // As the read model: events of rooms the user is in, and in a room they are invited to its invite only.
      candidates: async (userId, before, limit): Promise<NotificationCandidate[]> => events
        .filter((event) => {
          const membership = events.filter((m) => m.roomId === event.roomId && m.type === 'm.room.member' && m.stateKey === userId).at(-1);
          const invited = (membership?.pdu.content as JsonObject | undefined)?.membership === 'invite';
          return invited ? event === membership : membership !== undefined;
        })
        .filter((event) => event.sender !== userId && (before === undefined || event.originServerTs < before.ts))
        .sort((a, b) => b.originServerTs - a.originServerTs)
        .slice(0, limit)
        .map((event) => ({ roomId: event.roomId, eventId: event.eventId, offset: event.offset, ts: event.originServerTs })),
    },
    userData: {
      getPushRules: async () => effectiveRuleset(ME, undefined),
      getPushers: async () => ({ pushers: [] }),
      streams: { receipts: { currentPosition: async () => 1, changesSince: async () => receipts } } as unknown as NotificationsContext['userData']['streams'],
    },
    clock: { now: () => 5000 },
  };
  return { ctx, add, room, receipts };
};

const text = (body: string, extra: JsonObject = {}): JsonObject => ({ msgtype: 'm.text', body, ...extra });
const ids = (page: JsonObject): unknown[] => (page.notifications as JsonObject[]).map((n) => (n.event as JsonObject).event_id);

describe('GET /notifications', () => {
  it('lists notifying events newest first across rooms, with actions, read flags and pages', async () => {
    const s = server();
    s.room('!a:x', 3);
    s.room('!b:x', 2);
    const a1 = s.add('!a:x', BOB, 'm.room.message', text('first'));
    const b1 = s.add('!b:x', BOB, 'm.room.message', text('one to one'));
    s.add('!a:x', ME, 'm.room.message', text('mine'));
    s.add('!a:x', BOB, 'm.room.topic', { topic: 'not a notification' }, '');
    const a2 = s.add('!a:x', BOB, 'm.room.message', text('hey', { 'm.mentions': { user_ids: [ME] } }));
    s.receipts.set('!a:x', { [a1.eventId]: { 'm.read': { [ME]: { ts: 1 } } } });

    const all = await getNotifications(s.ctx, ME_DEVICE, {});
    expect(ids(all)).toEqual([a2.eventId, b1.eventId, a1.eventId]);
    expect(all.next_token).toBeUndefined();
    const [mention, oneToOne, first] = all.notifications as JsonObject[];
    expect(mention).toMatchObject({ room_id: '!a:x', read: false, ts: a2.originServerTs, actions: ['notify', { set_tweak: 'sound', value: 'default' }, { set_tweak: 'highlight' }] });
    expect((mention!.event as JsonObject).room_id).toBeUndefined();
    expect(oneToOne).toMatchObject({ room_id: '!b:x', read: false, actions: ['notify', { set_tweak: 'sound', value: 'default' }] });
    expect(first).toMatchObject({ read: true, actions: ['notify'] });

    const page1 = await getNotifications(s.ctx, ME_DEVICE, { limit: 2 });
    expect(ids(page1)).toEqual([a2.eventId, b1.eventId]);
    const page2 = await getNotifications(s.ctx, ME_DEVICE, { limit: 2, from: page1.next_token as string });
    expect(ids(page2)).toEqual([a1.eventId]);
    expect(page2.next_token).toBeUndefined();
    expect(ids(await getNotifications(s.ctx, ME_DEVICE, { only: 'highlight' }))).toEqual([a2.eventId]);
  });

  it('bounds the events scanned per page and continues where the scan stopped', async () => {
    const s = server();
    s.room('!a:x', 3);
    const old = s.add('!a:x', BOB, 'm.room.message', text('long ago'));
    for (let i = 0; i < SCAN_BUDGET; i++) s.add('!a:x', BOB, 'm.reaction', {});
    const page1 = await getNotifications(s.ctx, ME_DEVICE, {});
    expect(page1.notifications).toEqual([]);
    expect(page1.next_token).toEqual(expect.any(String));
    const page2 = await getNotifications(s.ctx, ME_DEVICE, { from: page1.next_token as string });
    expect(ids(page2)).toEqual([old.eventId]);
  });

  it("leaves out the events of users the requester ignores, but not their state events", async () => {
    const s = server();
    s.room('!a:x', 2);
    const bobs = s.add('!a:x', BOB, 'm.room.message', text('ignored'));
    const carols = s.add('!a:x', '@carol:x', 'm.room.message', text('kept'));
    const tombstone = s.add('!a:x', BOB, 'm.room.tombstone', { body: 'moved', replacement_room: '!b:x' }, '');
    const ctx = { ...s.ctx, preferences: { ignoredUsers: async () => new Set([BOB]), blocksInvites: async () => false } };
    expect(ids(await getNotifications(ctx, ME_DEVICE, {}))).toEqual([tombstone.eventId, carols.eventId]);
    expect(ids(await getNotifications(s.ctx, ME_DEVICE, {}))).toEqual([tombstone.eventId, carols.eventId, bobs.eventId]);
  });

  /** A room bob created and invited the requester to (they have not joined). */
  const invitedRoom = (s: ReturnType<typeof server>, roomId: string, inviter = BOB): StoredEvent => {
    s.add(roomId, inviter, 'm.room.create', { creator: inviter }, '');
    s.add(roomId, inviter, 'm.room.member', { membership: 'join' }, inviter);
    s.add(roomId, inviter, 'm.room.power_levels', { users: { [inviter]: 100 } }, '');
    s.add(roomId, inviter, 'm.room.message', text('before the invite'));
    return s.add(roomId, inviter, 'm.room.member', { membership: 'invite', displayname: 'Alice' }, ME);
  };

  it('lists a pending invite, alone of its room, among the joined rooms newest first', async () => {
    const s = server();
    s.room('!a:x', 3);
    const a1 = s.add('!a:x', BOB, 'm.room.message', text('first'));
    const invite = invitedRoom(s, '!i:x');
    const a2 = s.add('!a:x', BOB, 'm.room.message', text('hey', { 'm.mentions': { user_ids: [ME] } }));

    const all = await getNotifications(s.ctx, ME_DEVICE, {});
    expect(ids(all)).toEqual([a2.eventId, invite.eventId, a1.eventId]);
    expect((all.notifications as JsonObject[])[1]).toEqual({
      actions: ['notify', { set_tweak: 'sound', value: 'default' }],
      event: {
        content: { membership: 'invite', displayname: 'Alice' }, event_id: invite.eventId, origin_server_ts: invite.originServerTs,
        sender: BOB, state_key: ME, type: 'm.room.member', unsigned: { age: 5000 - invite.originServerTs },
      },
      read: false,
      room_id: '!i:x',
      ts: invite.originServerTs,
    });

    const page1 = await getNotifications(s.ctx, ME_DEVICE, { limit: 2 });
    expect(ids(page1)).toEqual([a2.eventId, invite.eventId]);
    expect(ids(await getNotifications(s.ctx, ME_DEVICE, { limit: 2, from: page1.next_token as string }))).toEqual([a1.eventId]);
    // `.m.rule.invite_for_me` sets no highlight.
    expect(ids(await getNotifications(s.ctx, ME_DEVICE, { only: 'highlight' }))).toEqual([a2.eventId]);
  });

  it('leaves out invites from ignored users, and every invite while invites are blocked, as /sync does', async () => {
    const s = server();
    const fromBob = invitedRoom(s, '!i:x');
    const fromCarol = invitedRoom(s, '!j:x', '@carol:x');
    const withPreferences = (ignored: string[], blocksInvites: boolean) =>
      ({ ...s.ctx, preferences: { ignoredUsers: async () => new Set(ignored), blocksInvites: async () => blocksInvites } });
    expect(ids(await getNotifications(withPreferences([], false), ME_DEVICE, {}))).toEqual([fromCarol.eventId, fromBob.eventId]);
    expect(ids(await getNotifications(withPreferences([BOB], false), ME_DEVICE, {}))).toEqual([fromCarol.eventId]);
    expect(ids(await getNotifications(withPreferences([], true), ME_DEVICE, {}))).toEqual([]);
  });

  it('refuses a token it did not issue', async () => {
    await expect(getNotifications(server().ctx, ME_DEVICE, { from: 'abc' })).rejects.toBeInstanceOf(MatrixError);
  });
});
