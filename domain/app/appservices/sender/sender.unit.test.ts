// The appservice sender's pure pieces: which bridges an event goes to (user, membership subject,
// room id, local alias, local joined member), how a room's facts follow the log, transaction bodies.
import { describe, expect, it } from 'vitest';
import { parseRegistration, type AppserviceRegistration } from '../../../appservices/index.ts';
import type { StateChange } from '../../../room/index.ts';
import {
  ALIASES_FRESH_MS, bridgesInterestedIn, bridgesInterestedInOutOfBand, DEFAULT_APPSERVICE_BACKOFF, eventFactsOf, KnownRoom, localJoinedMembers,
  keyCountUsers, mayConcern, NO_EXTRAS, presenceEvent, receiptEvents, receivingBridges, RoomFactsCache, toDeviceEvent, transactionBody, typingEvent,
} from './index.ts';

const US = 'us.test';
const reg = (id: string, namespaces: object, extra: object = {}): AppserviceRegistration => parseRegistration({
  id, url: `http://${id}.test`, as_token: `as_${id}`, hs_token: `hs_${id}`, sender_localpart: `${id}bot`, namespaces, ...extra,
}, US, `${id}.yaml`);
const users = reg('users', { users: [{ regex: `@irc_.*:${US}`, exclusive: true }] });
const rooms = reg('rooms', { rooms: [{ regex: '!bridged.*', exclusive: false }] });
const aliases = reg('aliases', { aliases: [{ regex: `#irc_.*:${US}`, exclusive: true }] });
const all = [users, rooms, aliases];
const ids = (registrations: readonly AppserviceRegistration[]) => registrations.map((registration) => registration.id);
const message = (sender: string) => eventFactsOf({ type: 'm.room.message', sender, content: { body: 'x' } });

describe('interest', () => {
  it('sends an event to the bridges of its sender, its membership subject, its room id, alias or local members', () => {
    const plain = new KnownRoom('!plain:us.test', 0, [`@alice:${US}`], [], 0);
    expect(ids(bridgesInterestedIn(all, message(`@alice:${US}`), plain))).toEqual([]);
    expect(ids(bridgesInterestedIn(all, message(`@irc_bob:${US}`), plain))).toEqual(['users']);
    // The bridge's own user counts as its namespace.
    expect(ids(bridgesInterestedIn(all, message(`@roomsbot:${US}`), plain))).toEqual(['rooms']);
    const invite = eventFactsOf({ type: 'm.room.member', sender: `@alice:${US}`, state_key: `@irc_new:${US}`, content: { membership: 'invite' } });
    expect(ids(bridgesInterestedIn(all, invite, plain))).toEqual(['users']);
    // A state key that looks like a user is a subject only on membership events.
    expect(ids(bridgesInterestedIn(all, eventFactsOf({ type: 'm.custom', sender: `@alice:${US}`, state_key: `@irc_new:${US}` }), plain))).toEqual([]);
    expect(ids(bridgesInterestedIn(all, message(`@alice:${US}`), new KnownRoom('!bridged1:us.test', 0, [], [], 0)))).toEqual(['rooms']);
    expect(ids(bridgesInterestedIn(all, message(`@alice:${US}`), new KnownRoom('!r:us.test', 0, [], [`#irc_chan:${US}`], 0)))).toEqual(['aliases']);
    expect(ids(bridgesInterestedIn(all, message('@carol:them.test'), new KnownRoom('!r:us.test', 0, [`@irc_bob:${US}`], [], 0)))).toEqual(['users']);
  });

  it('forgets what it decided about a room when its members or aliases change', () => {
    const room = new KnownRoom('!r:us.test', 0, [`@alice:${US}`], [], 0);
    expect(ids(bridgesInterestedIn(all, message(`@alice:${US}`), room))).toEqual([]);
    room.setMembership(`@irc_bob:${US}`, 'join');
    expect(ids(bridgesInterestedIn(all, message(`@alice:${US}`), room))).toEqual(['users']);
    room.setMembership(`@irc_bob:${US}`, 'leave');
    expect(ids(bridgesInterestedIn(all, message(`@alice:${US}`), room))).toEqual([]);
    expect(room.aliasesStale(ALIASES_FRESH_MS - 1)).toBe(false);
    expect(room.aliasesStale(ALIASES_FRESH_MS)).toBe(true);
    room.setAliases([`#irc_chan:${US}`], ALIASES_FRESH_MS);
    expect(room.aliasesStale(ALIASES_FRESH_MS)).toBe(false);
    expect(ids(bridgesInterestedIn(all, message(`@alice:${US}`), room))).toEqual(['aliases']);
  });

  it('sends an invite to a room this server is not in by its sender, invitee or room id', () => {
    const invite = (stateKey: string) => eventFactsOf({ type: 'm.room.member', sender: '@carol:them.test', state_key: stateKey, content: { membership: 'invite' } });
    expect(ids(bridgesInterestedInOutOfBand(all, invite(`@irc_far:${US}`), '!remote:them.test'))).toEqual(['users']);
    expect(ids(bridgesInterestedInOutOfBand(all, invite(`@alice:${US}`), '!remote:them.test'))).toEqual([]);
    expect(ids(bridgesInterestedInOutOfBand(all, invite(`@alice:${US}`), '!bridged2:them.test'))).toEqual(['rooms']);
  });

  it('leaves out bridges without a url', () => {
    const silent = parseRegistration({ id: 's', url: null, as_token: 'a', hs_token: 'h', sender_localpart: 's', namespaces: {} }, US, 's.yaml');
    expect(ids(receivingBridges([users, silent]))).toEqual(['users']);
  });
});

describe('following rooms', () => {
  const accepted = (roomId: string, eventId: string, pdu: object, stateDelta: StateChange[] = []) =>
    ({ type: 'pdu.accepted', v: 2, roomId, eventId, pdu, stateDelta, redaction: null, redactedBy: [] });
  const member = (roomId: string, userId: string, membership: string, eventId: string) => accepted(roomId, eventId,
    { type: 'm.room.member', state_key: userId, sender: userId, content: { membership } },
    [{ type: 'm.room.member', stateKey: userId, eventId, replaces: null }]);

  it('keeps local joined members only', () => {
    const members = [
      { pdu: { state_key: `@alice:${US}`, content: { membership: 'join' } } },
      { pdu: { state_key: `@bob:${US}`, content: { membership: 'invite' } } },
      { pdu: { state_key: '@carol:them.test', content: { membership: 'join' } } },
    ];
    expect(localJoinedMembers(members, US)).toEqual([`@alice:${US}`]);
  });

  it('follows local memberships record by record and reloads after state resolution or a state-changing record', () => {
    const cache = new RoomFactsCache(10, US);
    expect(cache.follow(member('!r', `@irc_a:${US}`, 'join', '$1'))).toBeDefined();
    expect(cache.get('!r')).toBeUndefined();
    cache.set(new KnownRoom('!r', 2, [], [], 0));
    cache.follow(member('!r', `@irc_a:${US}`, 'join', '$2'));
    cache.follow(member('!r', '@far:them.test', 'join', '$3'));
    expect([...cache.get('!r')!.localMembers]).toEqual([`@irc_a:${US}`]);
    for (const type of ['pdu.outlier', 'pdu.softFailed', 'pdu.rejected', 'pdu.backfilled', 'membership.outOfBand']) {
      expect(cache.follow({ type, v: 1, roomId: '!r', eventId: '$x' })).toBeUndefined();
      expect(cache.get('!r')).toBeDefined();
    }
    cache.follow(accepted('!r', '$m', { type: 'm.room.message' }, [{ type: 'm.room.member', stateKey: `@x:${US}`, eventId: '$old', replaces: null }]));
    expect(cache.get('!r')).toBeUndefined();
    cache.set(new KnownRoom('!r', 2, [], [], 0));
    cache.follow({ type: 'state.imported', v: 1, roomId: '!r', stateDelta: [], forwardExtremities: [], importedAt: 1 });
    expect(cache.get('!r')).toBeUndefined();
    cache.set(new KnownRoom('!r', 2, [], [], 0));
    cache.forgetPartitions([1]);
    expect(cache.get('!r')).toBeDefined();
    cache.forgetPartitions([2]);
    expect(cache.get('!r')).toBeUndefined();
  });
});

describe('transactions', () => {
  it('carries events alone unless the bridge opted in to ephemeral data, then both ephemeral names and to-device', () => {
    const events = [{ event_id: '$e' }];
    const extras = { ephemeral: [{ type: 'm.typing', room_id: '!r', content: { user_ids: [] } }], toDevice: [{ type: 'm.x', to_user_id: '@u', to_device_id: 'D' }] };
    expect(transactionBody(users, events, extras)).toEqual({ events });
    const ephemeral = reg('eph', {}, { receive_ephemeral: true });
    expect(transactionBody(ephemeral, events, extras)).toEqual({
      events, ephemeral: extras.ephemeral, 'de.sorunome.msc2409.ephemeral': extras.ephemeral, 'de.sorunome.msc2409.to_device': extras.toDevice,
    });
    expect(transactionBody(ephemeral, [], NO_EXTRAS)).toEqual({ events: [], ephemeral: [], 'de.sorunome.msc2409.ephemeral': [], 'de.sorunome.msc2409.to_device': [] });
  });

  it('adds MSC3202 device lists and key counts, what is not empty, for a bridge that opted in', () => {
    const msc3202 = reg('keys', {}, { 'org.matrix.msc3202': true });
    const keys = { oneTimeKeyCounts: { '@u:x': { D: { signed_curve25519: 3 } } }, unusedFallbackKeyTypes: { '@u:x': { D: ['signed_curve25519'] } } };
    const extras = { ...NO_EXTRAS, deviceLists: { changed: ['@a:x'], left: [] } };
    expect(transactionBody(msc3202, [], extras, keys)).toEqual({
      events: [],
      'org.matrix.msc3202.device_one_time_key_counts': keys.oneTimeKeyCounts,
      'org.matrix.msc3202.device_one_time_keys_count': keys.oneTimeKeyCounts,
      'org.matrix.msc3202.device_unused_fallback_key_types': keys.unusedFallbackKeyTypes,
      'org.matrix.msc3202.device_lists': { changed: ['@a:x'], left: [] },
    });
    expect(transactionBody(msc3202, [], NO_EXTRAS, { oneTimeKeyCounts: {}, unusedFallbackKeyTypes: {} })).toEqual({ events: [] });
    // A bridge that did not opt in gets none of it.
    expect(transactionBody(users, [], extras, keys)).toEqual({ events: [] });
  });

  it('counts keys for the bridge\'s sender, its users in the transaction\'s rooms and its to-device recipients', () => {
    const extras = { ephemeral: [{ type: 'm.typing', room_id: '!b' }], toDevice: [{ type: 'm.x', to_user_id: `@irc_td:${US}`, to_device_id: 'D' }] };
    const members: Record<string, string[]> = { '!a': [`@irc_a:${US}`], '!b': [`@irc_b:${US}`], '!c': [`@irc_c:${US}`] };
    expect(keyCountUsers(users, [{ room_id: '!a' }, { room_id: '!a' }], extras, (roomId) => members[roomId] ?? []).sort()).toEqual(
      [`@irc_a:${US}`, `@irc_b:${US}`, `@irc_td:${US}`, `@usersbot:${US}`],
    );
  });

  it('backs off from a second to five minutes', () => {
    expect(DEFAULT_APPSERVICE_BACKOFF).toEqual({ startMs: 1_000, maxMs: 300_000 });
  });
});

describe('ephemeral data', () => {
  it('shapes typing, receipts (private ones left out), presence and to-device as Synapse sends them', () => {
    expect(typingEvent('!r', ['@a:x'])).toEqual({ type: 'm.typing', room_id: '!r', content: { user_ids: ['@a:x'] } });
    const receipt = (userId: string, receiptType: string, threadId?: string) =>
      ({ roomId: '!r', receiptType, userId, eventId: '$e', ts: 5, position: 1, ...(threadId === undefined ? {} : { threadId }) });
    expect(receiptEvents([receipt('@a:x', 'm.read'), receipt('@b:x', 'm.read.private'), receipt('@c:x', 'm.read', 'main')])).toEqual([
      { type: 'm.receipt', room_id: '!r', content: { $e: { 'm.read': { '@a:x': { ts: 5 }, '@c:x': { ts: 5, thread_id: 'main' } } } } },
    ]);
    expect(receiptEvents([receipt('@b:x', 'm.read.private')])).toEqual([]);
    expect(presenceEvent({ userId: '@a:x', presence: 'online', lastActiveTs: 1_000, position: 3, statusMsg: 'hi' }, 1_500)).toMatchObject({
      type: 'm.presence', sender: '@a:x', content: { presence: 'online', last_active_ago: 500, status_msg: 'hi' },
    });
    expect(toDeviceEvent({ userId: '@u:x', deviceId: 'D', sender: '@s:x', type: 'm.t', content: { a: 1 } })).toEqual({
      type: 'm.t', sender: '@s:x', content: { a: 1 }, to_user_id: '@u:x', to_device_id: 'D',
    });
  });

  it('wakes a bridge for its users and for rooms, not for other users', () => {
    expect(mayConcern(users, `@irc_bob:${US}`)).toBe(true);
    expect(mayConcern(users, `@usersbot:${US}`)).toBe(true);
    expect(mayConcern(users, `@alice:${US}`)).toBe(false);
    expect(mayConcern(users, '!room:us.test')).toBe(true);
  });
});
