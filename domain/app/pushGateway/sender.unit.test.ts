import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../../json.ts';
import type { StoredEvent } from '../../ports/rooms.ts';
import type { Pusher } from '../../ports/userData.ts';
import { defaultRules, type PushRuleset } from '../userData/index.ts';
import { pushEvent, UNREAD_SCAN_RECORDS, type NotifyRequest, type PushSenderContext } from './index.ts';
import { member, pusher, ROOM, storedEvent } from './testEvents.ts';

const ALICE = '@alice:strata.test';
const BOB = '@bob:strata.test';
const URL_ = 'https://push.example/_matrix/push/v1/notify';

/** A room of alice and bob (offsets 0 and 1) in memory, with the ports pushEvent reads. */
const setUp = (options: { rules?: (userId: string) => PushRuleset; receipts?: JsonObject; rejected?: string[] } = {}) => {
  const events: StoredEvent[] = [member(ALICE, 'join', 0, 'Alice'), member(BOB, 'join', 1, 'Bob')];
  const pushers: Pusher[] = [pusher(ALICE, 'alice-key', { url: URL_ })];
  const sent: NotifyRequest[] = [];
  const context: PushSenderContext = {
    serverName: 'strata.test',
    rooms: {
      event: async (eventId) => events.find((event) => event.eventId === eventId),
      members: async (_roomId, offset) => {
        const latest = new Map<string, StoredEvent>();
        for (const event of events) if (event.type === 'm.room.member' && event.offset <= (offset ?? Infinity)) latest.set(event.stateKey!, event);
        return [...latest.values()];
      },
      stateEvent: async (_roomId, type, stateKey) => events.findLast((event) => event.type === type && event.stateKey === stateKey),
    },
    sync: {
      unreadWindow: async (_roomId, userId, after, before) => ({
        events: events.filter((event) => event.offset > after && event.offset < before && (event.sender !== userId || event.stateKey !== null)),
        stateBefore: { joinedMembers: events.filter((event) => event.type === 'm.room.member' && event.offset <= after).length },
      }),
    },
    pushers: {
      list: async (userId) => pushers.filter((p) => p.userId === userId),
      delete: async (userId, appId, pushkey) => {
        const index = pushers.findIndex((p) => p.userId === userId && p.appId === appId && p.pushkey === pushkey);
        if (index >= 0) pushers.splice(index, 1);
      },
    },
    userData: {
      getPushRules: async (requester) => (options.rules ?? defaultRules)(requester.userId),
      streams: {
        receipts: {
          currentPosition: async () => 1,
          changesSince: async () => new Map(options.receipts === undefined ? [] : [[ROOM, options.receipts]]),
        },
      } as unknown as PushSenderContext['userData']['streams'],
    },
    gateway: {
      notify: async (request) => {
        sent.push(request);
        return options.rejected ?? [];
      },
    },
  };
  const add = (event: StoredEvent): StoredEvent => {
    events.push(event);
    return event;
  };
  return { context, sent, pushers, add };
};

const notificationOf = (request: NotifyRequest): JsonObject => request.body.notification as JsonObject;

describe('pushEvent', () => {
  it('pushes a message to the other member\'s pusher with the room\'s unread count', async () => {
    const { context, sent, add } = setUp();
    add(storedEvent('$1', { offset: 2, content: { msgtype: 'm.text', body: 'one' } }));
    expect(await pushEvent(context, add(storedEvent('$2', { offset: 3, content: { msgtype: 'm.text', body: 'two' } })))).toBe(1);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.url).toBe(URL_);
    expect(notificationOf(sent[0]!)).toMatchObject({
      event_id: '$2', sender: BOB, sender_display_name: 'Bob', counts: { unread: 2 }, prio: 'high',
      devices: [{ pushkey: 'alice-key', tweaks: { sound: 'default' } }],
    });
  });

  it('counts from the recipient\'s membership, not the room\'s history before it', async () => {
    const { context, sent, add } = setUp();
    add(storedEvent('$before', { offset: 2 }));
    add(member(ALICE, 'join', 3, 'Alice A'));
    await pushEvent(context, add(storedEvent('$after', { offset: 4 })));
    expect(notificationOf(sent[0]!).counts).toEqual({ unread: 1 });
  });

  it('counts only what follows the recipient\'s read receipt', async () => {
    const { context, sent, add } = setUp({ receipts: { $1: { 'm.read': { [ALICE]: { ts: 1 } } } } });
    add(storedEvent('$1', { offset: 2 }));
    await pushEvent(context, add(storedEvent('$2', { offset: 3 })));
    expect(notificationOf(sent[0]!).counts).toEqual({ unread: 1 });
  });

  it('does not push the sender, users without pushers, or events the rules silence', async () => {
    const muted = (userId: string): PushRuleset => {
      const rules = defaultRules(userId);
      return { ...rules, override: [{ rule_id: 'mute', default: false, enabled: true, actions: ['dont_notify'], conditions: [] }, ...rules.override] };
    };
    const { context, sent, add } = setUp({ rules: muted });
    expect(await pushEvent(context, add(storedEvent('$m', { offset: 2 })))).toBe(0);
    expect(await pushEvent(setUp().context, storedEvent('$own', { offset: 2, sender: ALICE }))).toBe(0);
    expect(sent).toEqual([]);
  });

  it('pushes an invite to the invited local user and deletes a rejected pusher', async () => {
    const { context, sent, pushers, add } = setUp({ rejected: ['carol-key'] });
    pushers.push(pusher('@carol:strata.test', 'carol-key', { url: URL_ }));
    const invite = add(storedEvent('$inv', { type: 'm.room.member', stateKey: '@carol:strata.test', offset: 2, content: { membership: 'invite' } }));
    await pushEvent(context, invite);
    expect(sent.map((request) => (notificationOf(request).devices as JsonObject[])[0]!.pushkey)).toEqual(['carol-key']);
    expect(notificationOf(sent[0]!)).toMatchObject({ user_is_target: true });
    expect(pushers.map((p) => p.pushkey)).toEqual(['alice-key']);
  });

  it('evaluates at most UNREAD_SCAN_RECORDS records back', async () => {
    const { context, sent, add } = setUp();
    add(storedEvent('$old', { offset: 2 }));
    await pushEvent(context, add(storedEvent('$new', { offset: 3 + UNREAD_SCAN_RECORDS })));
    expect(notificationOf(sent[0]!).counts).toEqual({ unread: 1 });
  });
});
