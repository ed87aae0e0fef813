// Remote users' typing and presence time out here (Synapse's federation timeouts), to-device `*`
// reaches every device of ours, and our own user's typing that timed out is a stop other servers
// hear of.
import { describe, expect, it } from 'vitest';
import type { Edu } from '../../ports/federationOutbox.ts';
import type { PresenceState, ToDeviceDelivery, UserDataStores } from '../../ports/userData.ts';
import { createInProcessNotifier } from '../notifier/index.ts';
import type { UserDataContext } from './context.ts';
import {
  createRemoteUserData, REMOTE_PRESENCE_TIMEOUT_MS, REMOTE_SENDER_DEVICE, REMOTE_TYPING_TIMEOUT_MS, type RemoteToDeviceMessage,
} from './remoteEdus.ts';
import { PRESENCE_PING_INTERVAL_MS, startPresencePings } from './presencePing.ts';
import type { Schedule } from './typing.ts';
import { createUserData } from './userData.ts';

const manualTimers = () => {
  const pending: { run: () => void; ms: number; cancelled: boolean }[] = [];
  const schedule: Schedule = (run, ms) => {
    const timer = { run, ms, cancelled: false };
    pending.push(timer);
    return () => { timer.cancelled = true; };
  };
  const live = () => pending.filter((timer) => !timer.cancelled);
  return { schedule, live };
};

const remoteContext = () => {
  const presence: Omit<PresenceState, 'position'>[] = [];
  const sends: { sender: unknown; txnId: string; deliveries: readonly ToDeviceDelivery[] }[] = [];
  const seen = new Set<string>();
  const typing: unknown[][] = [];
  const notified: string[][] = [];
  const stores = {
    presence: {
      get: async (userId: string) => {
        const last = presence.findLast((state) => state.userId === userId);
        return last === undefined ? undefined : { ...last, position: 1 };
      },
      set: async (state: Omit<PresenceState, 'position'>) => { presence.push(state); return presence.length; },
      present: async () => [
        { userId: '@far:remote.example', presence: 'online', lastActiveTs: 0, position: 1 },
        { userId: '@near:strata.test', presence: 'online', lastActiveTs: 0, position: 2 },
      ],
    },
    toDevice: {
      send: async (sender: { userId: string }, txnId: string, _type: string, deliveries: readonly ToDeviceDelivery[]) => {
        const key = `${sender.userId} ${txnId}`;
        if (seen.has(key)) return { duplicate: true, position: 0 };
        seen.add(key);
        sends.push({ sender, txnId, deliveries });
        return { duplicate: false, position: 1 };
      },
    },
  };
  const ctx = {
    serverName: 'strata.test', stores,
    notifier: { notify: (keys: readonly string[]) => { notified.push([...keys]); } },
    membership: { usersSharingRoomsWith: async (userId: string) => new Set([userId, '@bob:strata.test']) },
    devices: { listDevices: async () => [{ deviceId: 'B1' }, { deviceId: 'B2' }] },
    typing: { setTyping: (...a: unknown[]) => { typing.push(a); } },
    clock: { now: () => 0 },
  } as unknown as UserDataContext;
  return { ctx, presence, sends, typing, notified };
};

describe('remote user data', () => {
  it('keeps a remote user typing for Synapse\'s federation timeout', () => {
    const { ctx, typing } = remoteContext();
    createRemoteUserData(ctx, manualTimers().schedule).typing('!r:x', '@a:remote.example', true);
    expect(typing).toEqual([['!r:x', '@a:remote.example', true, REMOTE_TYPING_TIMEOUT_MS]]);
  });

  it('turns a remote user offline when their server goes quiet, and after a restart too', async () => {
    const { ctx, presence } = remoteContext();
    const timers = manualTimers();
    const remote = createRemoteUserData(ctx, timers.schedule);
    await remote.presence({ userId: '@a:remote.example', presence: 'online', lastActiveTs: 5 });
    await remote.presence({ userId: '@a:remote.example', presence: 'unavailable', lastActiveTs: 5 });
    // Repeated with nothing new (a ping, last activity drifting a little): no write, the timeout restarts.
    await remote.presence({ userId: '@a:remote.example', presence: 'unavailable', lastActiveTs: 20 });
    expect(presence.map((state) => state.presence)).toEqual(['online', 'unavailable']);
    expect(timers.live().map((timer) => timer.ms)).toEqual([REMOTE_PRESENCE_TIMEOUT_MS]);
    timers.live()[0]!.run();
    await new Promise((resolve) => setImmediate(resolve));
    // Offline from the latest news: its last activity, even when it was not worth a write.
    expect(presence.at(-1)).toEqual({ userId: '@a:remote.example', presence: 'offline', lastActiveTs: 20 });
    // An offline user needs no timer; a restart gives remote users (only) theirs back.
    await remote.presence({ userId: '@b:remote.example', presence: 'offline', lastActiveTs: 1 });
    expect(timers.live().filter((timer) => timer.ms === REMOTE_PRESENCE_TIMEOUT_MS)).toHaveLength(1);
    await remote.resume();
    expect(timers.live()).toHaveLength(2);
    remote.close();
  });

  it('delivers to-device `*` to every device of ours, drops unknown devices, and a repeated message_id', async () => {
    const { ctx, sends, notified } = remoteContext();
    const remote = createRemoteUserData(ctx, manualTimers().schedule);
    const messages: RemoteToDeviceMessage[] = [
      { userId: '@bob:strata.test', deviceId: '*', content: { a: 1 } },
      { userId: '@bob:strata.test', deviceId: 'GONE', content: { b: 2 } },
    ];
    expect(await remote.toDevice('@a:remote.example', 'm1', 't', messages)).toEqual({ duplicate: false, delivered: 2 });
    expect(await remote.toDevice('@a:remote.example', 'm1', 't', messages)).toEqual({ duplicate: true, delivered: 0 });
    expect(sends).toEqual([{
      sender: { userId: '@a:remote.example', deviceId: REMOTE_SENDER_DEVICE }, txnId: 'm1',
      deliveries: [{ userId: '@bob:strata.test', deviceId: 'B1', content: { a: 1 } }, { userId: '@bob:strata.test', deviceId: 'B2', content: { a: 1 } }],
    }]);
    expect(notified).toEqual([['@bob:strata.test']]);
  });
});

describe('our user\'s typing timing out', () => {
  it('tells the room\'s other servers the user stopped; a remote user\'s timeout sends nothing', async () => {
    const timers = manualTimers();
    const sent: Edu[] = [];
    const userData = createUserData({
      stores: { presence: { present: async () => [] } } as unknown as UserDataStores,
      notifier: createInProcessNotifier(),
      membership: { isJoined: async () => true, usersSharingRoomsWith: async (userId) => new Set([userId]) },
      devices: { listDevices: async () => [] },
      clock: { now: () => 0 },
      serverName: 'strata.test',
      schedule: timers.schedule,
      federation: {
        outbox: { sendEdu: async (_destinations, edu) => { sent.push(edu); } },
        rooms: { serversInRoom: async () => ['other.example', 'strata.test'], serversSharingRoomsWith: async () => [] },
      },
    });
    const me = { userId: '@me:strata.test', deviceId: 'D' };
    await userData.setTyping(me, '!r:strata.test', me.userId, { typing: true, timeout: 1_000 });
    userData.remote.typing('!r:strata.test', '@a:other.example', true);
    for (const timer of timers.live()) timer.run();
    await new Promise((resolve) => setImmediate(resolve));
    expect(sent.map((edu) => edu.content)).toEqual([
      { room_id: '!r:strata.test', user_id: me.userId, typing: true },
      { room_id: '!r:strata.test', user_id: me.userId, typing: false },
    ]);
    userData.close();
  });
});

describe('presence pings', () => {
  it('send every present local user\'s presence to each server sharing a room, every 20 minutes', async () => {
    const timers = manualTimers();
    const sent: { destinations: readonly string[]; edu: Edu }[] = [];
    const present: PresenceState[] = [
      { userId: '@me:strata.test', presence: 'unavailable', lastActiveTs: 0, position: 1 },
      { userId: '@you:strata.test', presence: 'online', lastActiveTs: 0, position: 2 },
      { userId: '@far:other.example', presence: 'online', lastActiveTs: 0, position: 3 },
    ];
    const pinger = startPresencePings({
      serverName: 'strata.test', clock: { now: () => 60_000 },
      stores: { presence: { present: async () => present } } as unknown as UserDataStores,
      federation: {
        outbox: { sendEdu: async (destinations, edu) => { sent.push({ destinations, edu }); } },
        rooms: {
          serversInRoom: async () => [],
          serversSharingRoomsWith: async (userId) => (userId === '@me:strata.test' ? ['a.example', 'strata.test', 'b.example'] : ['a.example']),
        },
      },
    }, timers.schedule, 60_000);
    expect(timers.live().map((timer) => timer.ms)).toEqual([PRESENCE_PING_INTERVAL_MS]);
    const first = timers.live()[0]!;
    first.cancelled = true; // fired
    first.run();
    await new Promise((resolve) => setImmediate(resolve));
    expect(sent.map(({ destinations, edu }) => [destinations, (edu.content.push as { user_id: string; last_active_ago: number }[]).map((p) => p.user_id)]))
      .toEqual([[['a.example'], ['@me:strata.test', '@you:strata.test']], [['b.example'], ['@me:strata.test']]]);
    // The next ping is scheduled; closing cancels it.
    expect(timers.live()).toHaveLength(1);
    pinger.close();
    expect(timers.live()).toHaveLength(0);
  });
});
