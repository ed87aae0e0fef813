/**
 * The embedded RoomLog: a durable, partitioned, append-only log in local files, used when no Kafka
 * is configured. One process owns a directory (see LOCK in topics.ts); consumer groups live in that
 * process. Keys map to partitions with Kafka's murmur2 partitioner, so switching a deployment to
 * Kafka keeps every room in the same partition number.
 */
import {
  CONSUMER_LATENESS_MS,
  type AppendOptions, type AppendedPosition, type ConsumerHandlers, type LogEntry, type LogRecordToAppend, type RoomLog, type SubscribeOptions,
  type Subscription,
} from '../../domain/ports/index.ts';
import { ConsumerGroup, type PartitionSource } from './consumerGroup.ts';
import { partitionForKey } from './partitioner.ts';
import type { Segment, SegmentRecovery } from './segment.ts';
import { acquireLock, checkTopicName, createTopicFiles, openTopicFiles, readTopicPartitions, type OpenTopic } from './topics.ts';

/** The slice of a pino logger the embedded log uses. */
export interface EmbeddedLogLogger {
  warn(details: object, message: string): void;
}

export interface EmbeddedLogOptions {
  /** Folder holding the log (created if missing). */
  readonly dir: string;
  /**
   * Partition count of a topic created implicitly by its first use (like Kafka's num.partitions
   * with topic auto-creation). Without it, a topic must be created with ensureTopic first.
   */
  readonly partitions?: number;
  /** Told when a torn record is cut off a segment on open. */
  readonly logger?: EmbeddedLogLogger;
}

const DEFAULT_MAX_BATCH = 500;

export const createEmbeddedLog = async (options: EmbeddedLogOptions): Promise<RoomLog> => {
  const { dir } = options;
  const releaseLock = await acquireLock(dir);
  const opened = new Map<string, OpenTopic>();
  const opening = new Map<string, Promise<OpenTopic>>();
  const groups = new Map<string, ConsumerGroup>();
  let closed = false;

  const onRecovery = (recovery: SegmentRecovery): void =>
    options.logger?.warn(recovery, 'embedded log: cut a torn record off the end of a segment');

  const checkOpen = (): void => {
    if (closed) throw new Error(`embedded log ${dir} is closed`);
  };

  /** The open topic; creates it with `createWith` partitions if it does not exist. */
  const topicFor = (topic: string, createWith: number | undefined = options.partitions): OpenTopic | Promise<OpenTopic> => {
    checkOpen();
    const ready = opened.get(topic);
    if (ready !== undefined) return ready;
    const pending = opening.get(topic);
    if (pending !== undefined) return pending;
    checkTopicName(topic);
    const open = (async () => {
      let partitions = await readTopicPartitions(dir, topic);
      if (partitions === undefined) {
        if (createWith === undefined) throw new Error(`embedded log: unknown topic ${topic}`);
        await createTopicFiles(dir, topic, createWith);
        partitions = createWith;
      }
      const files = await openTopicFiles(dir, topic, partitions, onRecovery);
      if (closed) {
        await Promise.all(files.segments.map((segment) => segment.close()));
        throw new Error(`embedded log ${dir} is closed`);
      }
      opened.set(topic, files);
      return files;
    })();
    opening.set(topic, open);
    open.then(() => opening.delete(topic), () => opening.delete(topic));
    return open;
  };

  const segmentOf = (files: OpenTopic, partition: number): Segment => {
    const segment = files.segments[partition];
    if (!Number.isInteger(partition) || segment === undefined) {
      throw new RangeError(`topic ${files.name} has no partition ${partition}`);
    }
    return segment;
  };

  const append = async (topic: string, records: readonly LogRecordToAppend[], options?: AppendOptions): Promise<AppendedPosition[]> => {
    await options?.after;
    const files = await topicFor(topic);
    checkOpen();
    if (records.length === 0) return [];
    // From here to the segment appends nothing awaits, so concurrent callers keep call order.
    const count = files.segments.length;
    const partitions = records.map((record) => partitionForKey(record.key, count));
    const byPartition = new Map<number, LogRecordToAppend[]>();
    records.forEach((record, i) => {
      const list = byPartition.get(partitions[i]) ?? [];
      list.push(record);
      byPartition.set(partitions[i], list);
    });
    const timestamp = Date.now();
    // Every partition's records are framed before any is written: one refused record (too large)
    // fails the whole append, not the partitions after the first.
    const encoded = [...byPartition].map(([partition, list]) => [partition, files.segments[partition].encode(list, timestamp)] as const);
    const offsets = new Map<number, number[]>();
    const writes: Promise<void>[] = [];
    for (const [partition, records] of encoded) {
      const { offsets: assigned, written } = files.segments[partition].append(records);
      offsets.set(partition, assigned);
      writes.push(written);
    }
    await Promise.all(writes);
    const next = new Map<number, number>();
    return partitions.map((partition) => {
      const index = next.get(partition) ?? 0;
      next.set(partition, index + 1);
      return { partition, offset: (offsets.get(partition) ?? [])[index] };
    });
  };

  const subscribe = async (subscription: SubscribeOptions, handlers: ConsumerHandlers): Promise<Subscription> => {
    const files = await topicFor(subscription.topic);
    checkOpen();
    const key = `${subscription.group}\u0000${subscription.topic}`;
    let group = groups.get(key);
    if (group === undefined) {
      const source: PartitionSource = {
        topic: files.name,
        partitions: files.segments.length,
        read: (partition, fromOffset, max) => files.segments[partition].read(files.name, partition, fromOffset, max),
        endOffset: (partition) => files.segments[partition].endOffset,
        nextAppend: (partition) => files.segments[partition].nextAppend(),
      };
      group = new ConsumerGroup(source);
      groups.set(key, group);
    }
    const maxBatchSize = subscription.maxBatchSize ?? DEFAULT_MAX_BATCH;
    if (!Number.isInteger(maxBatchSize) || maxBatchSize < 1) throw new RangeError(`invalid maxBatchSize ${maxBatchSize}`);
    return group.join(handlers, maxBatchSize, CONSUMER_LATENESS_MS[subscription.latency ?? 'prompt']);
  };

  return {
    async ensureTopic(topic, partitions) {
      if (!Number.isInteger(partitions) || partitions < 1) throw new RangeError(`invalid partition count ${partitions}`);
      await topicFor(topic, partitions);
    },
    async partitionCount(topic) {
      return (await topicFor(topic)).segments.length;
    },
    async partitionFor(topic, key) {
      return partitionForKey(key, (await topicFor(topic)).segments.length);
    },
    append,
    async read(topic, partition, fromOffset, max): Promise<LogEntry[]> {
      const files = await topicFor(topic);
      if (!Number.isInteger(fromOffset) || fromOffset < 0) throw new RangeError(`invalid offset ${fromOffset}`);
      return segmentOf(files, partition).read(files.name, partition, fromOffset, max);
    },
    async endOffset(topic, partition) {
      return segmentOf(await topicFor(topic), partition).endOffset;
    },
    subscribe,
    async close() {
      if (closed) return;
      closed = true;
      await Promise.all([...groups.values()].map((group) => group.stopAll()));
      await Promise.allSettled(opening.values());
      await Promise.all([...opened.values()].flatMap((files) => files.segments.map((segment) => segment.close())));
      await releaseLock();
    },
  };
};
