/**
 * A listening user: long-polls `/sync` (incremental, `since`) for one room and hands every timeline
 * event to `onEvent` with the time the response arrived. When the server says the timeline was
 * `limited` (more events than the filter's limit since the last sync), the gap is read back through
 * `/messages`, so a burst is never mistaken for lost messages.
 */
import { messagesBefore, sync, uploadFilter, type HttpOptions, type Json, type Session } from './matrixClient.ts';

const LONG_POLL_MS = 30_000;
const DEFAULT_TIMELINE_LIMIT = 1000;
const BACKFILL_PAGE = 100;
const BACKFILL_MAX_PAGES = 50;
const RECENT_IDS = 20_000;

export interface ListenerStats {
  syncs: number;
  errors: number;
  limitedGaps: number;
  lastError?: string;
}

export interface Listener {
  readonly index: number;
  /** Whether it syncs with the message filter (asked for, and accepted by the server). */
  readonly filtered: boolean;
  readonly stats: ListenerStats;
  stop(): Promise<void>;
}

export interface ListenerOptions {
  readonly http: HttpOptions;
  readonly session: Session;
  readonly roomId: string;
  readonly index: number;
  /** Plain /sync instead of the message filter. */
  readonly unfiltered?: boolean;
  /** The message filter's timeline limit (default 1000). */
  readonly timelineLimit?: number;
  readonly onEvent: (event: Json, listener: number, receivedAt: number) => void;
}

/** Only m.room.message in this one room; no state, presence, receipts or account data. */
export const messageFilter = (roomId: string, timelineLimit: number): Json => ({
  presence: { not_types: ['*'] },
  account_data: { not_types: ['*'] },
  room: {
    rooms: [roomId],
    timeline: { types: ['m.room.message'], limit: timelineLimit },
    state: { not_types: ['*'] },
    ephemeral: { not_types: ['*'] },
    account_data: { not_types: ['*'] },
  },
});

const objectAt = (value: unknown, ...keys: string[]): Json | undefined => {
  let current = value;
  for (const key of keys) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Json)[key];
  }
  return typeof current === 'object' && current !== null && !Array.isArray(current) ? (current as Json) : undefined;
};

const eventsOf = (value: unknown): Json[] =>
  Array.isArray(value) ? value.filter((e): e is Json => typeof e === 'object' && e !== null) : [];

/**
 * Uploads the filter (falling back to plain sync if the server refuses it), takes the initial sync
 * position, then starts long-polling. Resolves once the listener is positioned, so no message sent
 * afterwards can be missed.
 */
export const startListener = async (options: ListenerOptions): Promise<Listener> => {
  const { http, session, roomId, index } = options;
  const controller = new AbortController();
  const loopHttp: HttpOptions = { ...http, signal: AbortSignal.any([http.signal, controller.signal]) };
  const stats: ListenerStats = { syncs: 0, errors: 0, limitedGaps: 0 };
  const recent = new Set<string>();
  const remember = (eventId: unknown) => {
    if (typeof eventId !== 'string') return;
    recent.add(eventId);
    // Sets iterate in insertion order, so this drops the oldest id.
    if (recent.size > RECENT_IDS) recent.delete(recent.values().next().value as string);
  };

  let filter: string | undefined;
  if (options.unfiltered !== true) {
    try {
      filter = await uploadFilter(http, session, messageFilter(roomId, options.timelineLimit ?? DEFAULT_TIMELINE_LIMIT));
    } catch {
      filter = undefined;
    }
  }
  let since: string;
  try {
    since = await initialPosition(http, session, filter);
  } catch (error) {
    if (filter === undefined) throw error;
    filter = undefined;
    since = await initialPosition(http, session, undefined);
  }

  const deliver = (events: readonly Json[], receivedAt: number) => {
    for (const event of events) {
      if (typeof event.event_id === 'string' && recent.has(event.event_id)) continue;
      remember(event.event_id);
      if (event.type === 'm.room.message') options.onEvent(event, index, receivedAt);
    }
  };

  const backfill = async (prevBatch: string, receivedAt: number) => {
    stats.limitedGaps += 1;
    let from = prevBatch;
    for (let page = 0; page < BACKFILL_MAX_PAGES; page += 1) {
      const body = await messagesBefore(loopHttp, session, roomId, from, BACKFILL_PAGE);
      const chunk = eventsOf(body.chunk);
      const reachedKnown = chunk.some((e) => typeof e.event_id === 'string' && recent.has(e.event_id));
      // The gap was there when the sync returned: that is when the listener could have known.
      deliver(chunk, receivedAt);
      if (reachedKnown || chunk.length === 0 || typeof body.end !== 'string') return;
      from = body.end;
    }
  };

  const loop = async () => {
    while (!controller.signal.aborted) {
      try {
        const body = await sync(loopHttp, session, { since, timeoutMs: LONG_POLL_MS, ...(filter === undefined ? {} : { filter }) });
        const receivedAt = performance.now();
        stats.syncs += 1;
        const timeline = objectAt(body, 'rooms', 'join', roomId, 'timeline');
        const events = eventsOf(timeline?.events);
        const gapStart = timeline?.limited === true && typeof timeline.prev_batch === 'string' ? timeline.prev_batch : undefined;
        deliver(events, receivedAt);
        if (gapStart !== undefined) await backfill(gapStart, receivedAt);
        if (typeof body.next_batch === 'string') since = body.next_batch;
      } catch (error) {
        if (controller.signal.aborted || http.signal.aborted) return;
        stats.errors += 1;
        stats.lastError = error instanceof Error ? error.message : String(error);
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  };
  const running = loop();
  return {
    index,
    filtered: filter !== undefined,
    stats,
    async stop() {
      controller.abort();
      await running;
    },
  };
};

const initialPosition = async (http: HttpOptions, session: Session, filter: string | undefined): Promise<string> => {
  const body = await sync(http, session, { timeoutMs: 0, ...(filter === undefined ? {} : { filter }) });
  if (typeof body.next_batch !== 'string') throw new Error('initial /sync has no next_batch');
  return body.next_batch;
};
