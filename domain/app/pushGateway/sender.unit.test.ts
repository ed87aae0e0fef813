import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../../json.ts';
import type { StoredEvent, SyncReadModel } from '../../ports/rooms.ts';
import type { Pusher } from '../../ports/userData.ts';
import type { SyncContext } from '../sync/index.ts';
import { defaultRules, type PushRuleset } from '../userData/index.ts';
import { pushEvent, type NotifyRequest, type PushSenderContext } from './index.ts';
import { member, pusher, ROOM, storedEvent } from '../../../test/builders/index.ts';

const ALICE = '@alice:strata.test';
const BOB = '@bob:strata.test';
const URL_ = 'https://push.example/_matrix/push/v1/notify';

/**
 * A room of alice and bob (offsets 0 and 1) in memory, on one log partition with any other rooms
 * events are added to, with the ports pushEvent reads and a /sync context over the same events.
 */
const setUp = (options: {
  rules?: (userId: string) => PushRuleset; receipts?: Record<string, JsonObject>; rejected?: string[]; ignored?: string[];
} = {}) => {
  const events: StoredEvent[] = [member(ALICE, 'join', 0, 'Alice'), member(BOB, 'join', 1, 'Bob')];
  const pushers: Pusher[] = [pusher(ALICE, 'alice-key', { url: URL_ })];
  const sent: NotifyRequest[] = [];
  const getPushRules = async (requester: { userId: string }) => (options.rules ?? defaultRules)(requester.userId);
  const unreadWindow: SyncReadModel['unreadWindow'] = async (roomId, userId, after, before) => {
    const inRoom = events.filter((event) => event.roomId === roomId);
    return {
      events: inRoom.filter((event) => event.offset > after && event.offset < before && (event.sender !== userId || event.stateKey !== null)),
      stateBefore: { joinedMembers: inRoom.filter((event) => event.type === 'm.room.member' && event.offset <= after).length },
    };
  };
  const event = async (eventId: string) => events.find((e) => e.eventId === eventId);
  const streams = {
    receipts: {
      currentPosition: async () => 1,
      changesSince: async (_userId: string, roomIds: readonly string[]) =>
        new Map(Object.entries(options.receipts ?? {}).filter(([roomId]) => roomIds.includes(roomId))),
    },
  };
  const preferences = { ignoredUsers: async (userId: string) => new Set(userId === ALICE ? options.ignored ?? [] : []), blocksInvites: async () => false };
  // What /sync reads for the badge: the user's membership changes and the rooms' newest offsets.
  const counts = {
    rooms: { event },
    sync: {
      unreadWindow,
      positionsWithMembershipChanges: async (userId: string) => {
        const last = (roomId: string) => Math.max(...events.filter((e) => e.roomId === roomId).map((e) => e.offset));
        const changes = events.filter((e) => e.type === 'm.room.member' && e.stateKey === userId).map((e) => ({
          roomId: e.roomId, partition: 0, offset: e.offset, membership: (e.pdu.content as JsonObject).membership as string,
          eventId: e.eventId, roomLastOffset: last(e.roomId),
        }));
        return { rooms: new Map([[0, Math.max(...events.map((e) => e.offset)) + 1]]), streams: { receipts: 1 }, changes };
      },
    },
    userData: { getPushRules, streams },
    preferences,
  } as unknown as SyncContext;
  const context: PushSenderContext = {
    serverName: 'strata.test',
    rooms: {
      event,
      members: async (roomId, offset) => {
        const latest = new Map<string, StoredEvent>();
        for (const e of events) if (e.roomId === roomId && e.type === 'm.room.member' && e.offset <= (offset ?? Infinity)) latest.set(e.stateKey!, e);
        return [...latest.values()];
      },
      stateEvent: async (roomId, type, stateKey) => events.findLast((e) => e.roomId === roomId && e.type === type && e.stateKey === stateKey),
    },
    sync: { unreadWindow },
    pushers: {
      list: async (userId) => pushers.filter((p) => p.userId === userId),
      delete: async (userId, appId, pushkey) => {
        const index = pushers.findIndex((p) => p.userId === userId && p.appId === appId && p.pushkey === pushkey);
        if (index >= 0) pushers.splice(index, 1);
      },
    },
    userData: { getPushRules },
    gateway: {
      notify: async (request) => {
        sent.push(request);
        return options.rejected ?? [];
      },
    },
    counts,
    preferences,
  };
  const add = (e: StoredEvent, roomId = ROOM): StoredEvent => {
    const placed = { ...e, roomId, offset: events.length };
    events.push(placed);
    return placed;
  };
  return { context, sent, pushers, add };
};

const notificationOf = (request: NotifyRequest): JsonObject => request.body.notification as JsonObject;

describe('pushEvent', () => {
  it('pushes a message to the other member\'s pusher with the recipient\'s badge', async () => {
    const { context, sent, add } = setUp();
    add(storedEvent('$1', { content: { msgtype: 'm.text', body: 'one' } }));
    expect(await pushEvent(context, add(storedEvent('$2', { content: { msgtype: 'm.text', body: 'two' } })))).toBe(1);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.url).toBe(URL_);
    // Two unread notifications in one room: a badge of one room (Synapse's group_unread_count_by_room default).
    expect(notificationOf(sent[0]!)).toMatchObject({
      event_id: '$2', sender: BOB, sender_display_name: 'Bob', counts: { unread: 1 }, prio: 'high',
      devices: [{ pushkey: 'alice-key', tweaks: { sound: 'default' } }],
    });
  });

  it('counts one per invite and per joined room with unread notifications, as /sync counts them', async () => {
    const { context, sent, add } = setUp({ receipts: { '!read:x': { $readUpTo: { 'm.read': { [ALICE]: { ts: 1 } } } } } });
    // A room read up to its newest event, one where only alice spoke, one with an unread message from before she joined.
    for (const roomId of ['!read:x', '!quiet:x', '!joined-late:x', '!unread:x']) add(member(BOB, 'join', 0, 'Bob'), roomId);
    add(storedEvent('$before'), '!joined-late:x');
    for (const roomId of ['!read:x', '!quiet:x', '!joined-late:x', '!unread:x']) add(member(ALICE, 'join', 0, 'Alice'), roomId);
    add(storedEvent('$readUpTo'), '!read:x');
    add(storedEvent('$mine', { sender: ALICE }), '!quiet:x');
    add(storedEvent('$unread'), '!unread:x');
    add(storedEvent('$invite', { type: 'm.room.member', stateKey: ALICE, content: { membership: 'invite' } }), '!invited:x');
    await pushEvent(context, add(storedEvent('$now')));
    // ROOM and !unread:x have unread notifications; !invited:x is an invite.
    expect(notificationOf(sent[0]!).counts).toEqual({ unread: 3 });
  });

  it('does not push the sender, users without pushers, or events the rules silence', async () => {
    const muted = (userId: string): PushRuleset => {
      const rules = defaultRules(userId);
      return { ...rules, override: [{ rule_id: 'mute', default: false, enabled: true, actions: ['dont_notify'], conditions: [] }, ...rules.override] };
    };
    const { context, sent, add } = setUp({ rules: muted });
    expect(await pushEvent(context, add(storedEvent('$m')))).toBe(0);
    const other = setUp();
    expect(await pushEvent(other.context, other.add(storedEvent('$own', { sender: ALICE })))).toBe(0);
    expect([...sent, ...other.sent]).toEqual([]);
  });

  it('does not push an ignored user\'s messages, nor count them in the badge, but pushes their state events', async () => {
    const { context, sent, add } = setUp({ ignored: [BOB] });
    const carol = '@carol:strata.test';
    add(member(carol, 'join', 0, 'Carol'));
    add(storedEvent('$bob-elsewhere'), '!other:x');
    add(member(ALICE, 'join', 0, 'Alice'), '!other:x');
    add(storedEvent('$bob-later'), '!other:x');
    expect(await pushEvent(context, add(storedEvent('$bob')))).toBe(0);
    expect(await pushEvent(context, add(storedEvent('$carol', { sender: carol })))).toBe(1);
    // Bob's unread message in !other:x counts for nothing: one room (carol's message) is unread.
    expect(notificationOf(sent[0]!)).toMatchObject({ event_id: '$carol', counts: { unread: 1 } });
  });

  it('pushes an invite to the invited local user and deletes a rejected pusher', async () => {
    const { context, sent, pushers, add } = setUp({ rejected: ['carol-key'] });
    pushers.push(pusher('@carol:strata.test', 'carol-key', { url: URL_ }));
    const invite = add(storedEvent('$inv', { type: 'm.room.member', stateKey: '@carol:strata.test', content: { membership: 'invite' } }));
    await pushEvent(context, invite);
    expect(sent.map((request) => (notificationOf(request).devices as JsonObject[])[0]!.pushkey)).toEqual(['carol-key']);
    // Carol's badge: the room she is invited to.
    expect(notificationOf(sent[0]!)).toMatchObject({ user_is_target: true, counts: { unread: 1 } });
    expect(pushers.map((p) => p.pushkey)).toEqual(['alice-key']);
  });
});
