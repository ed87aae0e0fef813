/**
 * Fetches partitions from offsets with no consumer group. kafkajs has no assign(): its only
 * consumer joins a group, which would leave a throwaway group on the broker per read and wait for
 * a join. Instead this uses the Fetch API directly, through kafkajs's internal cluster object
 * (internals.ts). One fetcher is one set of broker connections: Kafka answers a connection's
 * requests in order, so a fetch that waits on the broker holds back whatever is sent after it on
 * the same connection — a waiting fetch loop (logFeeds.ts) gets a fetcher of its own.
 */
import type { Kafka, KafkaMessage } from 'kafkajs';
import type { LogEntry } from '../../domain/ports/index.ts';
import { internalCluster } from './internals.ts';
import { toLogEntry } from './records.ts';

/** Kafka's READ_COMMITTED: never return records of open or aborted transactions' batches. */
const READ_COMMITTED = 1;
const MAX_BYTES = 8 << 20;
/** kafkajs error types after which fresh metadata (a new leader) may help. */
const STALE_METADATA = new Set(['NOT_LEADER_FOR_PARTITION', 'LEADER_NOT_AVAILABLE', 'UNKNOWN_TOPIC_OR_PARTITION', 'NOT_LEADER_OR_FOLLOWER']);

export interface FetchLimits {
  /** How long the broker may hold the request for `minBytes` to pile up. */
  readonly maxWaitTime: number;
  readonly minBytes: number;
  readonly maxBytes: number;
  readonly maxBytesPerPartition: number;
}

/** What one fetch brought of one partition: whole record batches, so it may start before the offset asked. */
export interface FetchedPartition {
  readonly partition: number;
  readonly highWatermark: number;
  readonly messages: ReadonlyArray<KafkaMessage & { isControlRecord?: boolean }>;
}

export interface BrokerFetch {
  /** One Fetch per leader of the partitions asked (`from`: partition → offset), answered together. */
  fetch(topic: string, from: ReadonlyMap<number, number>, limits: FetchLimits): Promise<FetchedPartition[]>;
  close(): Promise<void>;
}

export const createBrokerFetch = (kafka: Kafka): BrokerFetch => {
  const cluster = internalCluster(kafka);
  let connected: Promise<void> | undefined;
  let closed = false;

  const fetchOnce = async (topic: string, from: ReadonlyMap<number, number>, limits: FetchLimits): Promise<FetchedPartition[]> => {
    connected ??= cluster.connect();
    await connected;
    await cluster.addTargetTopic(topic);
    const leaders = cluster.findLeaderForPartitions(topic, [...from.keys()]);
    if (Object.values(leaders).flat().length < from.size) {
      throw Object.assign(new Error(`kafka: no leader known for some partitions of ${topic}`), { type: 'LEADER_NOT_AVAILABLE' });
    }
    const answers = await Promise.all(Object.entries(leaders).map(async ([nodeId, partitions]) => {
      const broker = await cluster.findBroker({ nodeId });
      const { responses } = await broker.fetch({
        maxWaitTime: limits.maxWaitTime, minBytes: limits.minBytes, maxBytes: limits.maxBytes, isolationLevel: READ_COMMITTED,
        topics: [{
          topic,
          partitions: partitions.map((partition) => ({ partition, fetchOffset: String(from.get(partition)), maxBytes: limits.maxBytesPerPartition })),
        }],
      });
      return responses.filter((r) => r.topicName === topic).flatMap((r) => r.partitions);
    }));
    return answers.flat().map((p) => ({ partition: p.partition, highWatermark: Number(p.highWatermark), messages: p.messages }));
  };

  return {
    async fetch(topic, from, limits) {
      if (closed) throw new Error('kafka: fetch after close');
      if (from.size === 0) return [];
      for (let attempt = 0; ; attempt++) {
        try {
          return await fetchOnce(topic, from, limits);
        } catch (error) {
          const type = (error as { type?: string }).type;
          if (attempt >= 3 || type === undefined || !STALE_METADATA.has(type)) throw error;
          await cluster.refreshMetadata();
        }
      }
    },
    async close() {
      closed = true;
      if (connected !== undefined) await cluster.disconnect();
    },
  };
};

/** Records of one partition over [from, to): `to` is past the last offset fetched, control records included. */
export interface FetchedChunk {
  readonly from: number;
  readonly to: number;
  readonly entries: readonly LogEntry[];
  readonly highWatermark: number;
}

/**
 * What a fetch brought of a partition from `from` on, decoded (at most `max` data records);
 * undefined when it brought nothing at or past `from`.
 */
export const chunkOf = (topic: string, from: number, fetched: FetchedPartition, max = Infinity): FetchedChunk | undefined => {
  const entries: LogEntry[] = [];
  let to = from;
  for (const message of fetched.messages) {
    const offset = Number(message.offset);
    // A fetch returns whole record batches: skip what precedes the offset asked for.
    if (offset < from) continue;
    if (entries.length >= max) break;
    to = offset + 1;
    if (message.isControlRecord !== true) entries.push(toLogEntry(topic, fetched.partition, message));
  }
  return to === from ? undefined : { from, to, entries, highWatermark: fetched.highWatermark };
};

/** Up to `max` data records of a partition from `fromOffset` (control records skipped), answered at once. */
export const readPartition = async (
  fetcher: BrokerFetch, topic: string, partition: number, fromOffset: number, max: number,
): Promise<LogEntry[]> => {
  const out: LogEntry[] = [];
  let offset = fromOffset;
  while (out.length < max) {
    const [response] = await fetcher.fetch(topic, new Map([[partition, offset]]), {
      maxWaitTime: 0, minBytes: 1, maxBytes: MAX_BYTES, maxBytesPerPartition: MAX_BYTES,
    });
    const chunk = response === undefined ? undefined : chunkOf(topic, offset, response, max - out.length);
    if (chunk === undefined) break;
    out.push(...chunk.entries);
    offset = chunk.to;
    if (offset >= chunk.highWatermark) break;
  }
  return out;
};
