import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../../json.ts';
import type { PushEvaluation } from '../../push/index.ts';
import { badgeRequest, deviceData, fallbackRoomName, notifyRequest, priorityOf, rejectedPushkeys, stateString } from './index.ts';
import { member, pusher, ROOM, storedEvent } from '../../../test/builders/index.ts';

const URL_ = 'https://push.example/_matrix/push/v1/notify';
const ALICE = '@alice:strata.test';
const notifying = (tweaks: PushEvaluation['tweaks'] = {}): PushEvaluation => ({
  notify: true, highlight: tweaks.highlight === true, tweaks, actions: ['notify'],
  ...(typeof tweaks.sound === 'string' ? { sound: tweaks.sound } : {}),
});
const details = { unread: 3, senderDisplayName: 'Bob', roomName: 'Tea', roomAlias: '#tea:strata.test' };

describe('notifyRequest (push-gateway-api § POST /_matrix/push/v1/notify)', () => {
  it('posts the event, the room, the counts and the device to the pusher\'s url', () => {
    const request = notifyRequest(pusher(ALICE, 'key', { url: URL_, extra: 1 }), ALICE, storedEvent('$e'), notifying({ sound: 'default' }), details);
    expect(request).toEqual({
      url: URL_,
      body: {
        notification: {
          event_id: '$e', room_id: ROOM, type: 'm.room.message', sender: '@bob:strata.test', sender_display_name: 'Bob',
          room_name: 'Tea', room_alias: '#tea:strata.test', content: { msgtype: 'm.text', body: 'hi' }, prio: 'high',
          counts: { unread: 3 },
          devices: [{ app_id: 'org.example.app', pushkey: 'key', pushkey_ts: 1_700_000_000, data: { extra: 1 }, tweaks: { sound: 'default' } }],
        },
      },
    });
  });

  it('sends only ids, counts, priority and devices, without tweaks, for format event_id_only', () => {
    const request = notifyRequest(pusher(ALICE, 'key', { url: URL_, format: 'event_id_only' }), ALICE, storedEvent('$e'), notifying({ sound: 'default' }), details);
    expect(request?.body).toEqual({
      notification: {
        event_id: '$e', room_id: ROOM, prio: 'high', counts: { unread: 3 },
        devices: [{ app_id: 'org.example.app', pushkey: 'key', pushkey_ts: 1_700_000_000, data: { format: 'event_id_only' } }],
      },
    });
  });

  it('leaves out missing room details and says whether a membership event targets the recipient', () => {
    const invite = storedEvent('$i', { type: 'm.room.member', stateKey: ALICE, content: { membership: 'invite' } });
    const body = notifyRequest(pusher(ALICE, 'key', { url: URL_ }), ALICE, invite, notifying(), { unread: 0 })?.body.notification;
    expect(body).toMatchObject({ user_is_target: true, membership: 'invite', type: 'm.room.member', content: { membership: 'invite' } });
    expect(body).not.toHaveProperty('room_name');
    expect(body).not.toHaveProperty('sender_display_name');
    expect(notifyRequest(pusher(ALICE, 'key', { url: URL_ }), '@carol:strata.test', invite, notifying(), { unread: 0 })?.body.notification)
      .toMatchObject({ user_is_target: false });
  });

  it('leaves out empty tweaks and empty content, as Synapse', () => {
    const body = notifyRequest(pusher(ALICE, 'key', { url: URL_ }), ALICE, storedEvent('$e', { content: {} }), notifying(), details)?.body.notification as JsonObject;
    expect(body).not.toHaveProperty('content');
    expect(body.devices).toEqual([{ app_id: 'org.example.app', pushkey: 'key', pushkey_ts: 1_700_000_000, data: {} }]);
  });

  it('sends a badge update as counts and the device only', () => {
    expect(badgeRequest(pusher(ALICE, 'key', { url: URL_, format: 'event_id_only' }), 2)).toEqual({
      url: URL_,
      body: { notification: { counts: { unread: 2 }, devices: [{ app_id: 'org.example.app', pushkey: 'key', pushkey_ts: 1_700_000_000, data: { format: 'event_id_only' } }] } },
    });
    expect(badgeRequest(pusher(ALICE, 'key', {}), 2)).toBeUndefined();
  });

  it('needs a url', () => {
    expect(notifyRequest(pusher(ALICE, 'key', {}), ALICE, storedEvent('$e'), notifying(), details)).toBeUndefined();
  });
});

describe('priorityOf, deviceData, stateString', () => {
  it('is high for highlights, sounds and encrypted events', () => {
    expect(priorityOf(storedEvent('$e'), notifying())).toBe('low');
    expect(priorityOf(storedEvent('$e'), notifying({ highlight: true }))).toBe('high');
    expect(priorityOf(storedEvent('$e'), notifying({ sound: 'ping' }))).toBe('high');
    expect(priorityOf(storedEvent('$e', { type: 'm.room.encrypted' }), notifying())).toBe('high');
  });

  it('drops only url from the device data', () => {
    expect(deviceData(pusher(ALICE, 'k', { url: URL_, format: 'event_id_only', brand: 'x' }))).toEqual({ format: 'event_id_only', brand: 'x' });
  });

  it('reads non-empty string fields of state content', () => {
    expect(stateString(member(ALICE, 'join', 0, 'Alice'), 'displayname')).toBe('Alice');
    expect(stateString(member(ALICE, 'join'), 'displayname')).toBeUndefined();
    expect(stateString(storedEvent('$n', { content: { name: '' } }), 'name')).toBeUndefined();
    expect(stateString(undefined, 'name')).toBeUndefined();
  });
});

describe('rejectedPushkeys', () => {
  it('reads the string pushkeys of `rejected`', () => {
    expect(rejectedPushkeys({ rejected: ['a', 2, 'b'] })).toEqual(['a', 'b']);
    expect(rejectedPushkeys({})).toEqual([]);
    expect(rejectedPushkeys('nope')).toEqual([]);
  });
});

describe('fallbackRoomName (Synapse\'s calculate_room_name, fallback_to_single_member off)', () => {
  const members = [
    member(ALICE, 'join', 0, 'Alice'), member('@bob:strata.test', 'join', 1, 'Bob'), member('@carol:strata.test', 'invite', 2),
    member('@dan:strata.test', 'leave', 3, 'Dan'),
  ];

  it('is the canonical alias, else two or more other joined or invited members, else none', () => {
    expect(fallbackRoomName('#tea:strata.test', members, ALICE)).toBe('#tea:strata.test');
    expect(fallbackRoomName(undefined, members, ALICE)).toBe('Bob and @carol:strata.test');
    expect(fallbackRoomName(undefined, [...members, member('@erin:strata.test', 'join', 4, 'Erin')], ALICE)).toBe('Bob and 2 others');
    // One other member (a DM) or an alias that is none: no name, as Synapse's pushes.
    expect(fallbackRoomName(undefined, members.slice(0, 2), ALICE)).toBeUndefined();
    expect(fallbackRoomName('tea', members.slice(0, 2), ALICE)).toBeUndefined();
  });
});
