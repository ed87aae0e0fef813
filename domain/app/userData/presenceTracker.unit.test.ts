import { describe, expect, it } from 'vitest';
import type { PresenceState, PresenceStore } from '../../ports/userData.ts';
import { presenceContent } from './presence.ts';
import {
  createPresenceTracker, SYNAPSE_PRESENCE_TIMERS, withPresenceActivity, type PresenceTimers, type PresenceTrackerDependencies,
} from './presenceTracker.ts';

/** A presence store in memory, a clock the test moves, and timers that fire when the clock passes them. */
const world = (timers: PresenceTimers = SYNAPSE_PRESENCE_TIMERS, extra: Pick<PresenceTrackerDependencies, 'isLocal' | 'onWritten'> = {}) => {
  let now = 1_000_000;
  let position = 0;
  const rows = new Map<string, PresenceState>();
  const writes: Omit<PresenceState, 'position'>[] = [];
  const touches: { userId: string; lastActiveTs: number }[] = [];
  const store: PresenceStore = {
    get: async (userId) => rows.get(userId),
    set: async (state) => {
      position += 1;
      writes.push(state);
      rows.set(state.userId, { ...state, position });
      return position;
    },
    touch: async (userId, lastActiveTs) => {
      touches.push({ userId, lastActiveTs });
      const row = rows.get(userId);
      if (row !== undefined) rows.set(userId, { ...row, lastActiveTs: Math.max(row.lastActiveTs, lastActiveTs) });
    },
    currentPosition: async () => position,
    changesSince: async () => [],
    present: async () => [...rows.values()].filter((state) => state.presence !== 'offline'),
  };
  let pending: { at: number; run: () => void; cancelled: boolean }[] = [];
  const notified: string[][] = [];
  const tracker = createPresenceTracker({
    store,
    membership: { usersSharingRoomsWith: async () => new Set(['@watcher:x']) },
    notifier: { notify: (keys) => void notified.push([...keys]) },
    clock: { now: () => now },
    schedule: (run, ms) => {
      const timer = { at: now + ms, run, cancelled: false };
      pending.push(timer);
      return () => { timer.cancelled = true; };
    },
    timers,
    ...extra,
  });
  const settle = () => new Promise((resolve) => setTimeout(resolve, 0));
  /** Moves the clock, firing each timer due on the way at its own time. */
  const advance = async (ms: number) => {
    const end = now + ms;
    for (;;) {
      pending = pending.filter((t) => !t.cancelled);
      const next = pending.filter((t) => t.at <= end).sort((a, b) => a.at - b.at)[0];
      if (next === undefined) break;
      now = Math.max(now, next.at);
      pending = pending.filter((t) => t !== next);
      next.run();
      await settle();
      await settle();
    }
    now = end;
  };
  const presence = (userId = '@u:x') => rows.get(userId)?.presence;
  const restore = (state: PresenceState) => void rows.set(state.userId, state);
  const content = (userId = '@u:x') => presenceContent(rows.get(userId)!, now, timers.lastActiveGranularityMs);
  return { tracker, advance, restore, presence, content, writes, touches, notified, now: () => now, pendingTimers: () => pending.filter((t) => !t.cancelled).length };
};

describe('presence tracker (Synapse timers: idle 5 min, offline 30 s after the last sync, active for 60 s)', () => {
  it('a sync marks the user online and currently active, and tells those who share a room', async () => {
    const w = world();
    expect(await w.tracker.synced('@u:x', 'online', w.now())).toBe(true);
    expect(w.content()).toEqual({ presence: 'online', last_active_ago: 0, currently_active: true });
    expect(w.notified).toEqual([['@watcher:x', '@u:x']]);
  });

  it('goes offline 30 s after the last sync ended, and not while a long-poll is in flight', async () => {
    const w = world();
    await w.tracker.synced('@u:x', 'online', w.now() + 25_000);
    await w.advance(50_000);
    expect(w.presence()).toBe('online');
    await w.advance(6_000);
    expect(w.presence()).toBe('offline');
    expect(w.content()).toMatchObject({ presence: 'offline', currently_active: false, last_active_ago: 56_000 });
    // Offline has no timers left.
    expect(w.pendingTimers()).toBe(0);
  });

  it('stays online while the client keeps polling, and currently_active ends 60 s after activity unless renewed', async () => {
    const w = world();
    await w.tracker.synced('@u:x', 'unavailable', w.now());
    expect(w.presence()).toBe('unavailable');
    for (let i = 0; i < 10; i++) {
      await w.tracker.synced('@u:x', 'unavailable', w.now() + 20_000);
      await w.advance(20_000);
    }
    expect(w.presence()).toBe('unavailable');
    // A sync with online is activity (as in Synapse); polls in between write nothing new.
    const before = w.writes.length;
    await w.tracker.synced('@u:x', 'online', w.now() + 20_000);
    await w.advance(20_000);
    await w.tracker.synced('@u:x', 'online', w.now() + 20_000);
    expect(w.writes.length).toBe(before + 1);
    expect(w.content()).toMatchObject({ presence: 'online', currently_active: true });
  });

  it('stores an active user’s last activity every half granularity without telling anyone, and tells when currently_active ends', async () => {
    const w = world();
    await w.tracker.synced('@u:x', 'online', w.now() + 10_000);
    expect([w.writes.length, w.notified.length]).toEqual([1, 1]);
    for (let i = 0; i < 12; i++) {
      await w.advance(10_000);
      await w.tracker.synced('@u:x', 'online', w.now() + 10_000);
      await w.tracker.active('@u:x');
    }
    // Two minutes of activity: the last activity stored four times over, no write, nobody woken.
    expect([w.writes.length, w.notified.length]).toEqual([1, 1]);
    expect(w.touches.map((touch) => touch.lastActiveTs - 1_000_000)).toEqual([30_000, 60_000, 90_000, 120_000]);
    expect(w.content()).toEqual({ presence: 'online', last_active_ago: 0, currently_active: true });
    // A long-poll stays in flight with no activity after it: currently_active ends 60 s after the
    // stored activity, and that is told.
    await w.tracker.synced('@u:x', 'online', w.now() + 70_000);
    await w.advance(61_000);
    expect(w.writes.length).toBe(2);
    expect(w.notified.length).toBe(2);
    expect(w.content()).toMatchObject({ presence: 'online', currently_active: false, last_active_ago: 61_000 });
  });

  it('turns a user online without activity unavailable after the idle timer, then offline once they stop syncing', async () => {
    const w = world({ idleMs: 1_000, syncOnlineTimeoutMs: 2_000, lastActiveGranularityMs: 500 });
    await w.tracker.synced('@u:x', 'online', w.now());
    await w.advance(600);
    // Still online, no longer currently active: written again so observers hear of it.
    expect(w.writes.map((s) => s.presence)).toEqual(['online', 'online']);
    expect(w.content()).toMatchObject({ presence: 'online', currently_active: false });
    await w.advance(500);
    expect(w.presence()).toBe('unavailable');
    await w.advance(1_000);
    expect(w.presence()).toBe('offline');
    expect(w.writes.map((s) => s.presence)).toEqual(['online', 'online', 'unavailable', 'offline']);
  });

  it('activity brings an idle user back online and counts as recent activity', async () => {
    const w = world({ idleMs: 1_000, syncOnlineTimeoutMs: 60_000, lastActiveGranularityMs: 500 });
    await w.tracker.synced('@u:x', 'online', w.now() + 5_000);
    await w.advance(1_500);
    expect(w.presence()).toBe('unavailable');
    await w.tracker.active('@u:x');
    expect(w.content()).toEqual({ presence: 'online', last_active_ago: 0, currently_active: true });
  });

  it('activity alone neither invents a presence nor touches an offline user, and set_presence=offline changes nothing', async () => {
    const w = world();
    await w.tracker.active('@new:x');
    expect(w.presence('@new:x')).toBeUndefined();
    expect(await w.tracker.synced('@new:x', 'offline', w.now())).toBe(false);
    expect(w.presence('@new:x')).toBeUndefined();
    await w.tracker.set('@u:x', 'offline', 'away');
    await w.advance(60_000);
    await w.tracker.active('@u:x');
    expect(w.content()).toEqual({ presence: 'offline', last_active_ago: 60_000, currently_active: false, status_msg: 'away' });
    expect(w.writes).toHaveLength(1);
  });

  it('PUT /presence keeps its status message through syncs, and times out like a sync when no client polls', async () => {
    const w = world();
    await w.tracker.set('@u:x', 'online', 'lunch');
    await w.tracker.synced('@u:x', 'online', w.now());
    expect(w.content()).toMatchObject({ presence: 'online', status_msg: 'lunch' });
    await w.advance(31_000);
    expect(w.content()).toMatchObject({ presence: 'offline', status_msg: 'lunch' });
  });

  it('counts a room send as activity only once it succeeded', async () => {
    const w = world({ idleMs: 1_000, syncOnlineTimeoutMs: 60_000, lastActiveGranularityMs: 500 });
    await w.tracker.synced('@u:x', 'online', w.now() + 5_000);
    await w.advance(1_500);
    const writer = withPresenceActivity({
      send: async (roomId: string, _event: { type: string }, _local: { userId: string }) => {
        if (roomId === '!bad:x') throw new Error('refused');
        return { eventId: '$e' };
      },
    }, w.tracker);
    await expect(writer.send('!bad:x', { type: 'm.room.message' }, { userId: '@u:x' })).rejects.toThrow('refused');
    expect(w.presence()).toBe('unavailable');
    expect(await writer.send('!r:x', { type: 'm.room.message' }, { userId: '@u:x' })).toEqual({ eventId: '$e' });
    expect(w.presence()).toBe('online');
  });

  it('resumes the timers of users stored as present after a restart', async () => {
    const w = world();
    w.restore({ userId: '@u:x', presence: 'online', lastActiveTs: w.now() - 10_000, position: 1 });
    w.restore({ userId: '@gone:x', presence: 'offline', lastActiveTs: 0, position: 2 });
    await w.tracker.resume();
    expect(w.pendingTimers()).toBe(1);
    await w.advance(29_000);
    expect(w.presence()).toBe('online');
    await w.advance(2_000);
    expect(w.presence()).toBe('offline');
  });

  it('resumes only our users (other servers\' users never sync here) and reports every write', async () => {
    const written: string[] = [];
    const w = world(SYNAPSE_PRESENCE_TIMERS, {
      isLocal: (userId) => userId.endsWith(':x'),
      onWritten: async (state) => { written.push(`${state.userId} ${state.presence}`); },
    });
    w.restore({ userId: '@u:x', presence: 'online', lastActiveTs: w.now(), position: 1 });
    w.restore({ userId: '@far:remote.example', presence: 'online', lastActiveTs: w.now(), position: 2 });
    await w.tracker.resume();
    expect(w.pendingTimers()).toBe(1);
    await w.advance(31_000);
    expect([w.presence(), w.presence('@far:remote.example')]).toEqual(['offline', 'online']);
    expect(written).toEqual(['@u:x offline']);
  });

  it('close cancels the timers', async () => {
    const w = world();
    await w.tracker.synced('@u:x', 'online', w.now());
    expect(w.pendingTimers()).toBe(1);
    w.tracker.close();
    expect(w.pendingTimers()).toBe(0);
  });
});
