/**
 * One fetch loop per topic and latency class in a process, shared by every consumer group of the
 * process that reads the topic (kafkaSubscription.ts keeps a kafkajs member per group only for
 * membership: assignment, heartbeats and commit hints).
 *
 * Why: every group fetching for itself meant a request, a response to decode and a JSON record to
 * unpack per group and record — five or six times the same bytes, ~10 % of a busy server's CPU —
 * and an idle server sending tens of empty fetches a second.
 *
 * How: a feed fetches the partitions its lanes hold, from where it got to (its cursor), and offers
 * each chunk it brings — decoded once, shared, read-only — to every lane of that partition. A lane
 * is one group's hold on one partition: it hands its subscriber one batch at a time from its own
 * position. A lane that is behind the cursor (just assigned at an older position, rebuilding, or
 * too slow to keep its queue under MAX_QUEUED_ENTRIES) reads alone with immediate fetches until
 * it reaches the feed's chunks again, so a slow or rebuilding group never holds back the others.
 */
import type { Kafka } from 'kafkajs';
import { CONSUMER_LATENESS_MS, type ConsumerLatency, type LogBatch } from '../../domain/ports/index.ts';
import { chunkOf, createBrokerFetch, type BrokerFetch, type FetchedChunk as Chunk, type FetchedPartition, type FetchLimits } from './partitionReader.ts';

export interface FeedSubscriber {
  readonly group: string;
  readonly topic: string;
  readonly latency: ConsumerLatency;
  /** Upper bound on entries per batch. */
  readonly maxBatchSize: number;
  /** One batch at a time per partition; the lane moves past it once this resolves. */
  onBatch(batch: LogBatch): Promise<void>;
  /** A batch failed, or the log could not be read: the lanes have stopped taking batches. */
  onError(error: unknown): void;
}

/** One subscriber's lanes. */
export interface FeedReader {
  /** Hands the subscriber a partition's records from `offset` on until the partition is revoked. */
  assign(partition: number, offset: number): void;
  /**
   * Stops the partitions' lanes; resolves once their batches in flight have finished, with the
   * offset each would have handed out next.
   */
  revoke(partitions: readonly number[]): Promise<ReadonlyMap<number, number>>;
  /** No lane starts a new batch until `resume` (the group is rebalancing). */
  hold(): void;
  resume(): void;
  /** The next offset each assigned partition will hand out. */
  positions(): ReadonlyMap<number, number>;
}

export interface LogFeeds {
  join(subscriber: FeedSubscriber): FeedReader;
  /** Fetches sent so far: by the feeds (waiting on the broker), and by lanes reading alone. */
  fetches(): { readonly shared: number; readonly alone: number };
  close(): Promise<void>;
}

export interface LogFeedTuning {
  /** How long a waiting fetch of a `prompt` or `background` feed stays on the broker. */
  readonly maxWaitTimeInMs?: number;
}

/** A partition's first and next offsets, for a position the log no longer (or not yet) holds. */
export type PartitionBounds = (topic: string, partition: number) => Promise<{ readonly low: number; readonly high: number }>;

/**
 * A feed that may hand records late (ConsumerLatency) has its fetch wait on the broker until this
 * much piled up or its wait ends: a few fetches a second instead of one per produce request.
 */
const LATE_MIN_BYTES = 256 * 1024;
/** A fetch's longest wait on the broker: how long a prompt fetch long-polls, a background feed's lateness. */
const DEFAULT_MAX_WAIT_MS = CONSUMER_LATENESS_MS.background;
const MAX_BYTES = 10 * 1024 * 1024;
const MAX_BYTES_PER_PARTITION = 1024 * 1024;
/** A background feed catching up takes more per fetch: a ClickHouse projection pays per INSERT. */
const BACKGROUND_MAX_BYTES = 32 * 1024 * 1024;
const BACKGROUND_MAX_BYTES_PER_PARTITION = 4 * 1024 * 1024;
/** Records a lane may hold unhandled before it lets its queue go and reads alone. */
const MAX_QUEUED_ENTRIES = 5_000;
/** Failed fetches in a row (with back-off) before a feed ends its subscribers. */
const FETCH_ATTEMPTS = 4;
const FETCH_BACKOFF_MS = 300;
/** A lane behind the cursor whose fetch brought nothing (not yet readable) looks again after this. */
const EMPTY_READ_RETRY_MS = 50;

const limitsFor = (latency: ConsumerLatency, tuning: LogFeedTuning): FetchLimits => {
  const wait = tuning.maxWaitTimeInMs ?? DEFAULT_MAX_WAIT_MS;
  if (latency === 'prompt') return { maxWaitTime: wait, minBytes: 1, maxBytes: MAX_BYTES, maxBytesPerPartition: MAX_BYTES_PER_PARTITION };
  if (latency === 'soon') {
    return { maxWaitTime: Math.min(CONSUMER_LATENESS_MS.soon, wait), minBytes: LATE_MIN_BYTES, maxBytes: MAX_BYTES, maxBytesPerPartition: MAX_BYTES_PER_PARTITION };
  }
  return { maxWaitTime: wait, minBytes: LATE_MIN_BYTES, maxBytes: BACKGROUND_MAX_BYTES, maxBytesPerPartition: BACKGROUND_MAX_BYTES_PER_PARTITION };
};

const isOutOfRange = (error: unknown): boolean => (error as { type?: string }).type === 'OFFSET_OUT_OF_RANGE';

/**
 * What a lane or a feed sleeps on until woken (or a timeout passes). A wake with nobody waiting is
 * kept for the next wait: an offer may land between a lane finding nothing and its going to sleep.
 */
const createSignal = () => {
  let pending = false;
  let waiter: (() => void) | undefined;
  return {
    wait(timeoutMs?: number): Promise<void> {
      if (pending) {
        pending = false;
        return Promise.resolve();
      }
      return new Promise<void>((resolve) => {
        const timer = timeoutMs === undefined ? undefined : setTimeout(() => {
          waiter = undefined;
          resolve();
        }, timeoutMs);
        waiter = () => {
          if (timer !== undefined) clearTimeout(timer);
          resolve();
        };
      });
    },
    wake(): void {
      const current = waiter;
      waiter = undefined;
      if (current === undefined) pending = true;
      else current();
    },
  };
};

interface Lane {
  readonly partition: number;
  readonly reader: ReaderState;
  next: number;
  readonly queue: Chunk[];
  queued: number;
  stopped: boolean;
  readonly signal: ReturnType<typeof createSignal>;
  running: Promise<void>;
}

interface ReaderState {
  readonly subscriber: FeedSubscriber;
  held: boolean;
  failed: boolean;
  readonly lanes: Map<number, Lane>;
}

export const createLogFeeds = (kafka: Kafka, bounds: PartitionBounds, tuning: LogFeedTuning = {}): LogFeeds => {
  /** Immediate fetches of lanes reading alone; never shares a connection with a waiting fetch. */
  const alone: BrokerFetch = createBrokerFetch(kafka);
  const feeds = new Map<string, ReturnType<typeof createFeed>>();
  let closed = false;
  const counts = { shared: 0, alone: 0 };

  const fail = (reader: ReaderState, error: unknown): void => {
    if (reader.failed) return;
    reader.failed = true;
    for (const lane of reader.lanes.values()) {
      lane.stopped = true;
      lane.signal.wake();
    }
    reader.subscriber.onError(error);
  };

  /** The lane's next records when the feed's chunks do not start at its position. */
  const readAlone = async (lane: Lane, topic: string): Promise<Chunk | undefined> => {
    const from = lane.next;
    counts.alone += 1;
    try {
      const [fetched] = await alone.fetch(topic, new Map([[lane.partition, from]]), {
        maxWaitTime: 0, minBytes: 1, maxBytes: MAX_BYTES, maxBytesPerPartition: MAX_BYTES_PER_PARTITION,
      });
      return fetched === undefined ? undefined : chunkOf(topic, from, fetched, lane.reader.subscriber.maxBatchSize);
    } catch (error) {
      if (!isOutOfRange(error)) throw error;
      // Records the log no longer holds (retention) are skipped, as a consumer reset to the earliest would.
      const { low, high } = await bounds(topic, lane.partition);
      if (from < low) return { from, to: low, entries: [], highWatermark: high };
      if (from > high) throw new Error(`kafka: position ${from} is past the end (${high}) of ${topic}/${lane.partition}`, { cause: error });
      return undefined;
    }
  };

  const createFeed = (topic: string, latency: ConsumerLatency) => {
    const fetcher = createBrokerFetch(kafka);
    const limits = limitsFor(latency, tuning);
    const lanes = new Map<number, Set<Lane>>();
    /** The offset the next fetch of each partition starts at. */
    const cursors = new Map<number, number>();
    const idle = createSignal();

    const offer = (lane: Lane, chunk: Chunk): void => {
      const needed = lane.queue.length > 0 ? lane.queue[lane.queue.length - 1].to : lane.next;
      // Behind the chunk (it reads alone until it catches up) or past it: nothing to queue.
      if (chunk.from > needed || chunk.to <= needed) return;
      if (lane.queued + chunk.entries.length > MAX_QUEUED_ENTRIES) {
        lane.queue.length = 0;
        lane.queued = 0;
      } else {
        lane.queue.push(chunk);
        lane.queued += chunk.entries.length;
      }
      lane.signal.wake();
    };

    /** The lane's next chunk: queued, read alone, or undefined to wait for the feed. */
    const nextChunk = async (lane: Lane): Promise<Chunk | 'wait' | 'retry'> => {
      while (lane.queue.length > 0 && lane.queue[0].to <= lane.next) lane.queued -= lane.queue.shift()!.entries.length;
      const head = lane.queue[0];
      if (head !== undefined && head.from <= lane.next) {
        lane.queue.shift();
        lane.queued -= head.entries.length;
        return head;
      }
      const cursor = cursors.get(lane.partition) ?? lane.next;
      if (head === undefined && lane.next >= cursor) return 'wait';
      return (await readAlone(lane, topic)) ?? 'retry';
    };

    const drain = async (lane: Lane): Promise<void> => {
      const { subscriber } = lane.reader;
      while (!lane.stopped) {
        if (lane.reader.held) {
          await lane.signal.wait();
          continue;
        }
        const chunk = await nextChunk(lane);
        if (chunk === 'wait' || chunk === 'retry') {
          if (!lane.stopped) await lane.signal.wait(chunk === 'retry' ? EMPTY_READ_RETRY_MS : undefined);
          continue;
        }
        const entries = chunk.entries.filter((entry) => entry.offset >= lane.next);
        for (let start = 0; start < entries.length; start += subscriber.maxBatchSize) {
          if (lane.stopped) return;
          const slice = entries.slice(start, start + subscriber.maxBatchSize);
          await subscriber.onBatch({ topic, partition: lane.partition, entries: slice, highWatermark: chunk.highWatermark });
          lane.next = slice[slice.length - 1].offset + 1;
        }
        if (!lane.stopped) lane.next = Math.max(lane.next, chunk.to);
      }
    };

    const add = (lane: Lane): void => {
      let set = lanes.get(lane.partition);
      if (set === undefined) {
        set = new Set();
        lanes.set(lane.partition, set);
      }
      set.add(lane);
      if (!cursors.has(lane.partition)) cursors.set(lane.partition, lane.next);
      lane.running = drain(lane).catch((error: unknown) => fail(lane.reader, error));
      idle.wake();
    };

    const remove = (lane: Lane): void => {
      const set = lanes.get(lane.partition);
      set?.delete(lane);
      if (set !== undefined && set.size === 0) {
        lanes.delete(lane.partition);
        cursors.delete(lane.partition);
      }
    };

    const failAll = (error: unknown): void => {
      const readers = new Set([...lanes.values()].flatMap((set) => [...set].map((lane) => lane.reader)));
      for (const reader of readers) fail(reader, error);
    };

    /** Moves cursors the broker refused back inside the partitions' bounds. */
    const clampCursors = async (): Promise<void> => {
      for (const [partition, cursor] of cursors) {
        const { low, high } = await bounds(topic, partition);
        if (cursor < low || cursor > high) cursors.set(partition, Math.min(Math.max(cursor, low), high));
      }
    };

    const loop = async (): Promise<void> => {
      let failures = 0;
      while (!closed) {
        const from = new Map([...cursors].filter(([partition]) => (lanes.get(partition)?.size ?? 0) > 0));
        if (from.size === 0) {
          await idle.wait();
          continue;
        }
        let fetched: FetchedPartition[];
        counts.shared += 1;
        try {
          fetched = await fetcher.fetch(topic, from, limits);
          failures = 0;
        } catch (error) {
          if (closed) return;
          if (isOutOfRange(error)) {
            await clampCursors().catch(() => undefined);
          } else if (++failures >= FETCH_ATTEMPTS) {
            failures = 0;
            failAll(error);
          } else {
            await new Promise((resolve) => setTimeout(resolve, FETCH_BACKOFF_MS * 2 ** (failures - 1)));
          }
          continue;
        }
        for (const partition of fetched) {
          const cursor = cursors.get(partition.partition);
          // Revoked, or revoked and assigned again, while the fetch was out: not this fetch's to hand.
          if (cursor === undefined || cursor !== from.get(partition.partition)) continue;
          const chunk = chunkOf(topic, cursor, partition);
          if (chunk === undefined) continue;
          cursors.set(partition.partition, chunk.to);
          for (const lane of lanes.get(partition.partition) ?? []) offer(lane, chunk);
        }
      }
    };
    const running = loop();

    return {
      add,
      remove,
      async close(): Promise<void> {
        idle.wake();
        await fetcher.close().catch(() => undefined);
        await running.catch(() => undefined);
      },
    };
  };

  const feedOf = (topic: string, latency: ConsumerLatency) => {
    const key = `${latency}\u0000${topic}`;
    let feed = feeds.get(key);
    if (feed === undefined) {
      feed = createFeed(topic, latency);
      feeds.set(key, feed);
    }
    return feed;
  };

  return {
    join(subscriber) {
      const feed = feedOf(subscriber.topic, subscriber.latency);
      const reader: ReaderState = { subscriber, held: false, failed: false, lanes: new Map() };
      const wakeAll = () => {
        for (const lane of reader.lanes.values()) lane.signal.wake();
      };
      return {
        assign(partition, offset) {
          if (closed) throw new Error('kafka: the log is closed');
          if (reader.lanes.has(partition)) throw new Error(`kafka: ${subscriber.group} already holds ${subscriber.topic}/${partition}`);
          const lane: Lane = {
            partition, reader, next: offset, queue: [], queued: 0, stopped: reader.failed, signal: createSignal(), running: Promise.resolve(),
          };
          reader.lanes.set(partition, lane);
          feed.add(lane);
        },
        async revoke(partitions) {
          const stopping = partitions.flatMap((partition) => {
            const lane = reader.lanes.get(partition);
            if (lane === undefined) return [];
            reader.lanes.delete(partition);
            lane.stopped = true;
            lane.signal.wake();
            feed.remove(lane);
            return [lane];
          });
          await Promise.all(stopping.map((lane) => lane.running));
          return new Map(stopping.map((lane) => [lane.partition, lane.next]));
        },
        hold() {
          reader.held = true;
        },
        resume() {
          reader.held = false;
          wakeAll();
        },
        positions() {
          return new Map([...reader.lanes].map(([partition, lane]) => [partition, lane.next]));
        },
      };
    },
    fetches: () => ({ ...counts }),
    async close() {
      closed = true;
      await Promise.all([...feeds.values()].map((feed) => feed.close()));
      await alone.close().catch(() => undefined);
    },
  };
};
