/**
 * Presence that follows what users do (client-server-api § Presence), after Synapse's presence
 * handler: a /sync request applies its `set_presence` and keeps the user connected until the
 * long-poll ends; sending events, typing, receipts and read markers are activity. Timers then move
 * a user who stays online without activity to `unavailable` (idle) and a user who stopped syncing
 * to `offline`. Time comes from the clock and timers from `schedule`, so tests control both.
 *
 * Per user, not per device (Synapse combines devices, most present first): one syncing device
 * keeps the user online. State lives in the presence store, written (and observers told) only when
 * an observer would see a difference (state, status message, `currently_active`); an active user's
 * last activity is stored again when it drifted by half the granularity, telling nobody, so a
 * polling client does not write on every poll. Timers live in this process; `resume` restarts them
 * for everyone stored as present after a restart.
 */
import { createKeyedQueue } from '../../concurrency/index.ts';
import type { PresenceState, PresenceStore, RoomMembership } from '../../ports/userData.ts';
import type { Notifier } from '../notifier/index.ts';
import type { Schedule } from './typing.ts';

export type Presence = PresenceState['presence'];

export interface PresenceTimers {
  /** Online without activity this long ⇒ `unavailable` (Synapse's IDLE_TIMER). */
  readonly idleMs: number;
  /** No /sync in flight nor activity for this long ⇒ `offline` (Synapse's SYNC_ONLINE_TIMEOUT). */
  readonly syncOnlineTimeoutMs: number;
  /** `currently_active` holds this long after the last activity (Synapse's LAST_ACTIVE_GRANULARITY). */
  readonly lastActiveGranularityMs: number;
}

/** Synapse's defaults (synapse/config/server.py). */
export const SYNAPSE_PRESENCE_TIMERS: PresenceTimers = {
  idleMs: 5 * 60_000,
  syncOnlineTimeoutMs: 30_000,
  lastActiveGranularityMs: 60_000,
};

/** Whether an observer sees the user as currently active (only ever while online). */
export const currentlyActive = (state: Pick<PresenceState, 'presence' | 'lastActiveTs'>, now: number, granularityMs: number): boolean =>
  state.presence === 'online' && now - state.lastActiveTs < granularityMs;

export interface PresenceTrackerDependencies {
  readonly store: PresenceStore;
  readonly membership: Pick<RoomMembership, 'usersSharingRoomsWith'>;
  readonly notifier: Pick<Notifier, 'notify'>;
  readonly clock: { now(): number };
  /** setTimeout (unref'd) by default. */
  readonly schedule?: Schedule;
  readonly timers?: PresenceTimers;
  /**
   * Whether the user is ours: `resume` restarts timers for our users only (other servers' users
   * are never syncing here; remoteEdus.ts times them out). All users by default.
   */
  readonly isLocal?: (userId: string) => boolean;
  /** Hears of every state written (to tell other servers); resolves before the write's caller goes on. */
  readonly onWritten?: (state: Omit<PresenceState, 'position'>) => Promise<void>;
}

export interface PresenceTracker {
  readonly timers: PresenceTimers;
  /**
   * A /sync request with `set_presence` (`offline` changes nothing, as in Synapse) that long-polls
   * until `until`. Answers whether the stored presence changed.
   */
  synced(userId: string, presence: Presence, until: number): Promise<boolean>;
  /** The user did something: sent an event, typed, sent a receipt or moved a read marker. */
  active(userId: string): Promise<void>;
  /** `PUT /presence/{userId}/status`: the state and status message the user asked for. */
  set(userId: string, presence: Presence, statusMsg: string | undefined): Promise<void>;
  /**
   * After a restart: every user stored as present gets the sync timeout from now to come back
   * (Synapse restarts its timers the same way), so nobody stays online for good.
   */
  resume(): Promise<void>;
  /** Cancels every pending timer. */
  close(): void;
}

interface Tracked {
  /** The latest sync, activity or explicit set (Synapse's per-device last_active_ts / last_sync_ts). */
  lastSeen: number;
  /** When the latest /sync long-poll ends: connected until then. */
  connectedUntil: number;
  /** `currently_active` as last written: a timer writes again when it turns false. */
  shownActive: boolean;
  dueAt?: number;
  cancel?: () => void;
}

type Next = Omit<PresenceState, 'position'>;

const timeoutSchedule: Schedule = (run, ms) => {
  const timer = setTimeout(run, ms);
  timer.unref?.();
  return () => clearTimeout(timer);
};

export const createPresenceTracker = (deps: PresenceTrackerDependencies): PresenceTracker => {
  const timers = deps.timers ?? SYNAPSE_PRESENCE_TIMERS;
  const schedule = deps.schedule ?? timeoutSchedule;
  const tracked = new Map<string, Tracked>();
  /** Stored states of tracked users: this tracker is their only writer, so no read per poll. */
  const stored = new Map<string, PresenceState | undefined>();
  /** One change at a time per user: a timer firing during a sync must not interleave with it. */
  const users = createKeyedQueue<string>();
  const serially = <T>(userId: string, run: () => Promise<T>): Promise<T> => users.run(userId, run);
  let closed = false;

  const storedState = async (userId: string): Promise<PresenceState | undefined> => {
    if (stored.has(userId)) return stored.get(userId);
    const state = await deps.store.get(userId);
    if (tracked.has(userId)) stored.set(userId, state);
    return state;
  };

  const trackedOf = (userId: string, now: number): Tracked => {
    let entry = tracked.get(userId);
    if (entry === undefined) {
      entry = { lastSeen: now, connectedUntil: now, shownActive: false };
      tracked.set(userId, entry);
    }
    return entry;
  };

  /**
   * What to do with `next` (Synapse's should_notify): write it when an observer would notice (state,
   * status message, `currently_active`); store a last-activity bump by half the granularity without
   * telling anyone while the user stays currently active, as Synapse persists such bumps without
   * notifying (every active user's bump would otherwise wake every /sync sharing a room with them,
   * every 30 s); nothing otherwise.
   */
  const changeOf = (previous: PresenceState | undefined, next: Next, now: number): 'write' | 'touch' | undefined => {
    if (previous === undefined) return 'write';
    if (previous.presence !== next.presence || previous.statusMsg !== next.statusMsg) return 'write';
    const granularity = timers.lastActiveGranularityMs;
    const active = currentlyActive(next, now, granularity);
    if (currentlyActive(previous, now, granularity) !== active) return 'write';
    if (next.lastActiveTs - previous.lastActiveTs < granularity / 2) return undefined;
    return active ? 'touch' : 'write';
  };

  const write = async (userId: string, next: Next, now: number): Promise<void> => {
    const position = await deps.store.set(next);
    stored.set(userId, { ...next, position });
    const entry = tracked.get(userId);
    if (entry !== undefined) entry.shownActive = currentlyActive(next, now, timers.lastActiveGranularityMs);
    deps.notifier.notify([...(await deps.membership.usersSharingRoomsWith(userId)), userId]);
    await deps.onWritten?.(next);
  };

  /** Writes `next` if observers would notice, or stores its last activity; answers whether it wrote. */
  const apply = async (userId: string, previous: PresenceState | undefined, next: Next, now: number): Promise<boolean> => {
    const change = changeOf(previous, next, now);
    if (change === 'write') await write(userId, next, now);
    else if (change === 'touch' && previous !== undefined) {
      await deps.store.touch(userId, next.lastActiveTs);
      stored.set(userId, { ...previous, lastActiveTs: next.lastActiveTs });
    }
    return change === 'write';
  };

  const forget = (userId: string): void => {
    tracked.get(userId)?.cancel?.();
    tracked.delete(userId);
    stored.delete(userId);
  };

  /** The next moment a timer could change what observers see; none once offline. */
  const dueAt = (state: PresenceState | undefined, entry: Tracked): number | undefined => {
    if (state === undefined || state.presence === 'offline') return undefined;
    // Synapse goes offline when "now - max(last sync, last active) > timeout": strictly after.
    const candidates = [Math.max(entry.lastSeen, entry.connectedUntil) + timers.syncOnlineTimeoutMs + 1];
    if (state.presence === 'online') candidates.push(state.lastActiveTs + timers.idleMs + 1);
    if (entry.shownActive) candidates.push(state.lastActiveTs + timers.lastActiveGranularityMs);
    return Math.min(...candidates);
  };

  const reschedule = (userId: string, state: PresenceState | undefined): void => {
    const entry = tracked.get(userId);
    if (entry === undefined || closed) return;
    const due = dueAt(state, entry);
    if (due === undefined) {
      forget(userId);
      return;
    }
    if (entry.dueAt === due && entry.cancel !== undefined) return;
    entry.cancel?.();
    entry.dueAt = due;
    entry.cancel = schedule(() => {
      entry.cancel = undefined;
      entry.dueAt = undefined;
      void serially(userId, () => expire(userId)).catch(() => undefined);
    }, Math.max(0, due - deps.clock.now()));
  };

  /** Synapse's handle_timeout: offline when no longer connected, else idle, else the end of currently_active. */
  const expire = async (userId: string): Promise<void> => {
    const entry = tracked.get(userId);
    if (entry === undefined) return;
    const now = deps.clock.now();
    const state = await storedState(userId);
    if (state === undefined || state.presence === 'offline') {
      forget(userId);
      return;
    }
    const base = { userId, lastActiveTs: state.lastActiveTs, ...(state.statusMsg === undefined ? {} : { statusMsg: state.statusMsg }) };
    if (now - Math.max(entry.lastSeen, entry.connectedUntil) > timers.syncOnlineTimeoutMs) {
      await write(userId, { ...base, presence: 'offline' }, now);
    } else if (state.presence === 'online' && now - state.lastActiveTs > timers.idleMs) {
      await write(userId, { ...base, presence: 'unavailable' }, now);
    } else if (entry.shownActive && !currentlyActive(state, now, timers.lastActiveGranularityMs)) {
      // Written again unchanged, so observers get an event saying the user is no longer active.
      await write(userId, { ...base, presence: state.presence }, now);
    }
    reschedule(userId, stored.get(userId) ?? state);
  };

  const keepStatus = (state: PresenceState | undefined) => (state?.statusMsg === undefined ? {} : { statusMsg: state.statusMsg });

  return {
    timers,
    synced: (userId, presence, until) => {
      if (presence === 'offline') return Promise.resolve(false);
      return serially(userId, async () => {
        const now = deps.clock.now();
        const entry = trackedOf(userId, now);
        entry.lastSeen = now;
        entry.connectedUntil = Math.max(entry.connectedUntil, until);
        const previous = await storedState(userId);
        // As Synapse: a sync with `online` counts as activity; `unavailable` leaves last activity alone.
        const next: Next = {
          userId, presence, ...keepStatus(previous),
          lastActiveTs: presence === 'online' ? now : previous?.lastActiveTs ?? now,
        };
        const changed = await apply(userId, previous, next, now);
        reschedule(userId, stored.get(userId));
        return changed;
      });
    },
    // Only users this tracker follows (present: syncing, set, or resumed) change: an offline user's
    // activity leaves them offline (Synapse too; it refreshes last_active_ts, which observers of an
    // offline user are not told), and a send costs no presence read for users who never sync.
    active: (userId) => (!tracked.has(userId) ? Promise.resolve() : serially(userId, async () => {
      const now = deps.clock.now();
      const entry = tracked.get(userId);
      const previous = await storedState(userId);
      if (entry === undefined || previous === undefined) return;
      entry.lastSeen = now;
      // An idle user is back.
      const next: Next = { userId, ...keepStatus(previous), presence: previous.presence === 'unavailable' ? 'online' : previous.presence, lastActiveTs: now };
      await apply(userId, previous, next, now);
      reschedule(userId, stored.get(userId));
    })),
    set: (userId, presence, statusMsg) => serially(userId, async () => {
      const now = deps.clock.now();
      const entry = trackedOf(userId, now);
      entry.lastSeen = now;
      const previous = await storedState(userId);
      await write(userId, {
        userId, presence, ...(statusMsg === undefined ? {} : { statusMsg }),
        lastActiveTs: presence === 'online' ? now : previous?.lastActiveTs ?? now,
      }, now);
      reschedule(userId, stored.get(userId));
    }),
    resume: async () => {
      const now = deps.clock.now();
      for (const state of await deps.store.present()) {
        if (deps.isLocal?.(state.userId) === false) continue;
        await serially(state.userId, async () => {
          if (tracked.has(state.userId)) return;
          const entry = trackedOf(state.userId, now);
          entry.shownActive = currentlyActive(state, now, timers.lastActiveGranularityMs);
          stored.set(state.userId, state);
          reschedule(state.userId, state);
        });
      }
    },
    close: () => {
      closed = true;
      for (const entry of tracked.values()) entry.cancel?.();
      tracked.clear();
      stored.clear();
    },
  };
};

/** What withPresenceActivity needs of a room writer: its send, with the sending user's origin. */
export interface SendingWriter {
  send(roomId: string, event: never, local: { readonly userId: string }): Promise<unknown>;
}

/**
 * The room writer with every event a user sends counted as their activity, as Synapse bumps
 * presence for each event a client sends. A failed send is no activity.
 */
export const withPresenceActivity = <W extends SendingWriter>(writer: W, presence: Pick<PresenceTracker, 'active'>): W => {
  const send = async (roomId: string, event: never, local: { readonly userId: string }): Promise<unknown> => {
    const sent = await writer.send(roomId, event, local);
    await presence.active(local.userId);
    return sent;
  };
  return { ...writer, send } as W;
};
