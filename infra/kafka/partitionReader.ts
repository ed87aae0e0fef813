/**
 * Reads one partition from an offset with no consumer group. kafkajs has no assign(): its only
 * consumer joins a group, which would leave a throwaway group on the broker per read and wait for
 * a join. Instead this uses the Fetch API directly, through kafkajs's internal cluster object
 * (internals.ts); the int test covers it.
 */
import type { Kafka, KafkaMessage } from 'kafkajs';
import { internalCluster, type FetchPartitionResponse } from './internals.ts';

/** Kafka's READ_COMMITTED: never return records of open or aborted transactions' batches. */
const READ_COMMITTED = 1;
const MAX_BYTES = 8 << 20;
/** kafkajs error types after which fresh metadata (a new leader) may help. */
const STALE_METADATA = new Set(['NOT_LEADER_FOR_PARTITION', 'LEADER_NOT_AVAILABLE', 'UNKNOWN_TOPIC_OR_PARTITION', 'NOT_LEADER_OR_FOLLOWER']);

export interface FetchedMessage {
  readonly offset: number;
  readonly message: KafkaMessage;
  readonly highWatermark: number;
}

export interface PartitionReader {
  /** Up to `max` data records of a partition from `fromOffset` (control records skipped). */
  read(topic: string, partition: number, fromOffset: number, max: number): Promise<FetchedMessage[]>;
  close(): Promise<void>;
}

export const createPartitionReader = (kafka: Kafka): PartitionReader => {
  const cluster = internalCluster(kafka);
  let connected: Promise<void> | undefined;

  const fetchOnce = async (topic: string, partition: number, offset: number): Promise<FetchPartitionResponse | undefined> => {
    connected ??= cluster.connect();
    await connected;
    await cluster.addTargetTopic(topic);
    const leaders = cluster.findLeaderForPartitions(topic, [partition]);
    const nodeId = Object.keys(leaders)[0];
    if (nodeId === undefined) throw new Error(`kafka: no leader known for ${topic}/${partition}`);
    const broker = await cluster.findBroker({ nodeId });
    const { responses } = await broker.fetch({
      maxWaitTime: 0, minBytes: 1, maxBytes: MAX_BYTES, isolationLevel: READ_COMMITTED,
      topics: [{ topic, partitions: [{ partition, fetchOffset: String(offset), maxBytes: MAX_BYTES }] }],
    });
    return responses.find((r) => r.topicName === topic)?.partitions.find((p) => p.partition === partition);
  };

  const fetchWithRetry = async (topic: string, partition: number, offset: number): Promise<FetchPartitionResponse | undefined> => {
    for (let attempt = 0; ; attempt++) {
      try {
        return await fetchOnce(topic, partition, offset);
      } catch (error) {
        const type = (error as { type?: string }).type;
        if (attempt >= 3 || type === undefined || !STALE_METADATA.has(type)) throw error;
        await cluster.refreshMetadata();
      }
    }
  };

  return {
    async read(topic, partition, fromOffset, max) {
      const out: FetchedMessage[] = [];
      let offset = fromOffset;
      while (out.length < max) {
        const response = await fetchWithRetry(topic, partition, offset);
        if (response === undefined) break;
        const highWatermark = Number(response.highWatermark);
        // A fetch returns whole record batches: drop what precedes the offset asked for.
        const fetched = response.messages.filter((m) => Number(m.offset) >= offset);
        if (fetched.length === 0) break;
        for (const message of fetched) {
          if (out.length >= max) break;
          if (message.isControlRecord !== true) out.push({ offset: Number(message.offset), message, highWatermark });
        }
        offset = Number(fetched[fetched.length - 1].offset) + 1;
        if (offset >= highWatermark) break;
      }
      return out;
    },
    async close() {
      if (connected !== undefined) await cluster.disconnect();
    },
  };
};
