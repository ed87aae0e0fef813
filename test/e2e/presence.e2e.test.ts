// Presence follows what users do (client-server-api § Presence): a user who synced once and then
// stopped is seen by a room-mate's /sync going online → unavailable (idle) → offline, here with
// timers shortened from Synapse's 5 min / 30 s so the test watches them fire.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MatrixClient, e, startTestServer, type Body, type TestServer, type UserClient } from '../harness/index.ts';

// Seconds apart, so a loaded machine still lets the watcher see each state before the next.
const TIMERS = { idleMs: 1_500, syncOnlineTimeoutMs: 4_500, lastActiveGranularityMs: 1_000 };

describe('presence over /sync with its timers', () => {
  let server: TestServer;
  let alice: UserClient;
  let bob: UserClient;

  beforeAll(async () => {
    server = await startTestServer({ mode: 'embedded', presenceTimers: TIMERS });
    const client = new MatrixClient(server.url);
    [alice, bob] = await Promise.all(['alice', 'bob'].map(async (name) => client.as(await client.register(name))));
    const room = await alice.createRoom({ preset: 'public_chat' });
    await bob.post(`/rooms/${e(room)}/join`, {});
  });
  afterAll(() => server?.stop());

  const bobsPresence = (body: Body): Body[] =>
    (((body.presence as Body | undefined)?.events ?? []) as Body[]).filter((event) => event.sender === bob.userId).map((event) => event.content as Body);

  it('shows another user online after a sync, unavailable once idle, offline once they stopped syncing', async () => {
    const first = await alice.get('/sync', { timeout: 0 });
    let since = first.next_batch as string;
    const startedAt = Date.now();
    // Bob's client syncs once, then is gone.
    await bob.get('/sync', { timeout: 0 });
    const seen: Body[] = [];
    while (seen.at(-1)?.presence !== 'offline') {
      expect(Date.now() - startedAt).toBeLessThan(20_000);
      const page = await alice.get('/sync', { since, timeout: 5_000 });
      since = page.next_batch as string;
      seen.push(...bobsPresence(page));
    }
    const states = seen.map((content) => content.presence).filter((state, i, all) => i === 0 || all[i - 1] !== state);
    expect(states).toEqual(['online', 'unavailable', 'offline']);
    expect(seen[0]).toMatchObject({ presence: 'online', currently_active: true });
    const idle = seen.find((content) => content.presence === 'unavailable')!;
    expect(idle.currently_active).toBe(false);
    expect(idle.last_active_ago).toBeGreaterThanOrEqual(TIMERS.idleMs);
    // Offline came no sooner than the timeout after bob's sync.
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(TIMERS.syncOnlineTimeoutMs);
    expect(await alice.get(`/presence/${e(bob.userId)}/status`)).toMatchObject({ presence: 'offline', currently_active: false });
  });

  it('counts a message as activity: an idle user who sends is online and currently active again', async () => {
    const room = ((await bob.get('/joined_rooms')).joined_rooms as string[])[0]!;
    await bob.get('/sync', { timeout: 0, set_presence: 'online' });
    await expect.poll(async () => (await alice.get(`/presence/${e(bob.userId)}/status`)).presence, { timeout: 10_000, interval: 200 })
      .toBe('unavailable');
    await bob.put(`/rooms/${e(room)}/send/m.room.message/p1`, { msgtype: 'm.text', body: 'back' });
    expect(await alice.get(`/presence/${e(bob.userId)}/status`)).toMatchObject({ presence: 'online', currently_active: true });
  });
});
