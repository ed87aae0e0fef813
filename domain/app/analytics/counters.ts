/**
 * Live analytics counters for dashboards: ONE poll of the metadata view per process, every 2 s
 * while anyone listens, whatever the number of listeners (sockets share what it read; none asks
 * the warehouse itself). The first listener starts the polls at once; a later one gets the latest
 * counters at once; the polls stop when the last one leaves. A failing poll is reported once per
 * failure streak; listeners keep the last counters they got (their `ts` says how old) until a
 * poll succeeds again.
 */
import type { JsonObject } from '../../json.ts';

/** Accepted events counted by origin_server_ts up to `ts` (UTC), as the analyst API counts them. */
export interface AnalyticsCounters {
  readonly ts: number;
  readonly eventsLastMinute: number;
  readonly eventsLastHour: number;
  /** Since 00:00 UTC. */
  readonly eventsToday: number;
  readonly sendersToday: number;
  readonly roomsToday: number;
  /** The most frequent event types of the last hour (a bounded number of them). */
  readonly byTypeLastHour: Readonly<Record<string, number>>;
}

/** What the counters ask of the metadata view (projections/analytics/counters.ts over ClickHouse). */
export interface AnalyticsCountersReadModel {
  counters(now: number): Promise<AnalyticsCounters>;
}

/** The message a counters socket sends. */
export const countersMessage = (counters: AnalyticsCounters): JsonObject => ({
  type: 'counters',
  ts: counters.ts,
  events_last_minute: counters.eventsLastMinute,
  events_last_hour: counters.eventsLastHour,
  events_today: counters.eventsToday,
  senders_today: counters.sendersToday,
  rooms_today: counters.roomsToday,
  by_type_last_hour: { ...counters.byTypeLastHour },
});

export type CountersListener = (counters: AnalyticsCounters) => void;

export interface AnalyticsCountersFeed {
  /** Adds a listener (see above); returns how to remove it. */
  subscribe(listener: CountersListener): () => void;
  /** Lets listeners start polls (with the server). */
  start(): void;
  /** Stops polling and waits for a poll under way. */
  stop(): Promise<void>;
}

export const COUNTERS_INTERVAL_MS = 2_000;

export interface AnalyticsCountersFeedContext {
  readonly readModel: AnalyticsCountersReadModel;
  readonly now: () => number;
  readonly intervalMs?: number;
  /** A poll failed (the first of a streak). */
  readonly onError: (error: unknown) => void;
  /** Polls succeed again after a failure streak. */
  readonly onRecovered?: () => void;
  /** Every poll's outcome (metrics). */
  readonly onPolled?: (outcome: 'ok' | 'failed') => void;
}

export const createAnalyticsCountersFeed = (ctx: AnalyticsCountersFeedContext): AnalyticsCountersFeed => {
  const intervalMs = ctx.intervalMs ?? COUNTERS_INTERVAL_MS;
  const listeners = new Set<CountersListener>();
  /** The last counters of the running cycle (none between cycles: they would be stale). */
  let latest: AnalyticsCounters | undefined;
  let polling: Promise<void> | undefined;
  let next: ReturnType<typeof setTimeout> | undefined;
  let running = false;
  let failing = false;

  const broadcast = (counters: AnalyticsCounters): void => {
    for (const listener of [...listeners]) listener(counters);
  };

  /** One poll, and the next one `intervalMs` after it started while anyone listens. */
  const cycle = (): void => {
    next = undefined;
    if (!running || listeners.size === 0) {
      latest = undefined;
      return;
    }
    next = setTimeout(cycle, intervalMs);
    next.unref();
    // A poll slower than the interval is not doubled: the tick waits for the next one.
    if (polling !== undefined) return;
    polling = ctx.readModel.counters(ctx.now())
      .then((counters) => {
        if (failing) ctx.onRecovered?.();
        failing = false;
        ctx.onPolled?.('ok');
        if (!running) return;
        latest = counters;
        broadcast(counters);
      }, (error: unknown) => {
        if (!failing) ctx.onError(error);
        failing = true;
        ctx.onPolled?.('failed');
      })
      .finally(() => { polling = undefined; });
  };

  return {
    subscribe: (listener) => {
      listeners.add(listener);
      if (next === undefined) cycle();
      else if (latest !== undefined) listener(latest);
      return () => { listeners.delete(listener); };
    },
    start: () => { running = true; },
    stop: async () => {
      running = false;
      clearTimeout(next);
      next = undefined;
      listeners.clear();
      latest = undefined;
      await polling;
    },
  };
};
