/**
 * The RoomLog on Apache Kafka (kafkajs). Keys are partitioned with kafkajs's DefaultPartitioner,
 * which is the Java client's murmur2 partitioner, so every Kafka client agrees on a room's
 * partition; the adapter computes the partition itself and sends it explicitly, so `partitionFor`
 * and `append` can never disagree. Appends go through one idempotent producer (acks=all, one
 * request in flight, so concurrent callers keep their call order per partition; a new one after a
 * failed request, producerSessions.ts); appends made
 * while a request is in flight share the next ones, each partition's record batch within the
 * topic's max.message.bytes (appendBatcher.ts).
 */
import { Kafka, logLevel, Partitioners, type Admin, type ConfigResourceTypes, type Producer, type logCreator } from 'kafkajs';
import type { AppendedPosition, LogEntry, RoomLog, Subscription } from '../../domain/ports/index.ts';
import { createAppendBatcher, DEFAULT_MAX_BATCH_BYTES } from './appendBatcher.ts';
import { createLogFeeds } from './logFeeds.ts';
import { createBrokerFetch, readPartition } from './partitionReader.ts';
import { createProducerSessions } from './producerSessions.ts';
import { createGroupEvictor } from './groupEviction.ts';
import { mendRequestQueueTimer } from './internals.ts';
import { subscribeKafka, type GroupMembership, type KafkaConsumerTuning } from './kafkaSubscription.ts';
import { toKafkaMessage } from './records.ts';

/** The slice of a pino logger kafkajs's messages are sent to. */
export interface KafkaLogLogger {
  error(details: object, message: string): void;
  warn(details: object, message: string): void;
  info(details: object, message: string): void;
  debug(details: object, message: string): void;
}

export interface KafkaLogOptions {
  readonly brokers: string[];
  readonly clientId: string;
  /** Receives kafkajs's own logging (info and above); without it kafkajs is silent. */
  readonly logger?: KafkaLogLogger;
  readonly consumer?: KafkaConsumerTuning;
}

/**
 * kafkajs's connection logs every error response at error level, including the TOPIC_ALREADY_EXISTS
 * of a CreateTopics that lost a race to another process. `admin.createTopics` throws for any other
 * creation error, so that line carries nothing the caller does not see: it is logged at debug.
 */
const isCreateTopicsResponse = (namespace: string, message: string | undefined): boolean =>
  namespace === 'Connection' && (message ?? '').startsWith('Response CreateTopics');

const toLogCreator = (logger: KafkaLogLogger): logCreator => () => ({ namespace, level, log }) => {
  const { message, ...details } = log;
  const text = `kafkajs ${namespace}: ${message}`;
  if (level === logLevel.ERROR && isCreateTopicsResponse(namespace, message)) logger.debug(details, text);
  else if (level === logLevel.ERROR) logger.error(details, text);
  else if (level === logLevel.WARN) logger.warn(details, text);
  else if (level === logLevel.INFO) logger.info(details, text);
  else logger.debug(details, text);
};

/** kafkajs's ConfigResourceTypes.TOPIC: Node's ESM loader does not see that enum among the CommonJS package's exports. */
const TOPIC_RESOURCE = 2 as ConfigResourceTypes;

export interface KafkaLog extends RoomLog {
  readonly kafka: Kafka;
  /**
   * Declares this process the only live member of the consumer groups it joins from now on (it
   * holds its namespace's writer lease): before joining a group it removes the members that
   * earlier processes left behind (groupEviction.ts), so a restart after `kill -9` does not wait
   * for their sessions to expire.
   */
  takeOverGroups(): void;
}

/** How long a topic just created may take to be served before ensureTopic gives up. */
const TOPIC_SERVED_DEADLINE_MS = 15_000;

export const createKafkaLog = async (options: KafkaLogOptions): Promise<KafkaLog> => {
  mendRequestQueueTimer();
  const kafka = new Kafka({
    brokers: options.brokers,
    clientId: options.clientId,
    logLevel: options.logger === undefined ? logLevel.NOTHING : logLevel.INFO,
    ...(options.logger === undefined ? {} : { logCreator: toLogCreator(options.logger) }),
  });
  const admin: Admin = kafka.admin();
  const newProducer = (): Producer => kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  const producer = newProducer();
  await admin.connect();
  try {
    await producer.connect();
  } catch (error) {
    await admin.disconnect();
    throw error;
  }
  const reader = createBrokerFetch(kafka);
  /** Each topic's max.message.bytes, read with its partition count. */
  const maxBatchBytes = new Map<string, number>();
  const producers = createProducerSessions(producer, newProducer, (error) => {
    options.logger?.warn({ err: error }, 'kafka: an append failed; the next goes through a new producer (producerSessions.ts)');
  });
  const appendBatched = createAppendBatcher(async (byTopic) => {
    const metadata = await producers.run((current) => current.sendBatch({
      acks: -1,
      topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
    }));
    return metadata.map(({ topicName, partition, baseOffset }) => ({ topic: topicName, partition, baseOffset: Number(baseOffset) }));
  }, { maxBatchBytes: (topic) => maxBatchBytes.get(topic) ?? DEFAULT_MAX_BATCH_BYTES });
  const partitioner = Partitioners.DefaultPartitioner();
  const subscriptions = new Set<Subscription>();
  const evictor = createGroupEvictor(kafka, admin);
  /** Member ids of this process's running consumers: never evicted. */
  const ownMembers = new Set<string>();
  let sole = false;
  const membership: GroupMembership = {
    beforeJoin: async (group) => {
      if (!sole) return;
      const evicted = await evictor.evict(group, ownMembers);
      if (evicted.length > 0) options.logger?.info({ group, members: evicted }, `removed ${evicted.length} member(s) an earlier process left in group ${group}`);
    },
    onJoined: (memberId) => { ownMembers.add(memberId); },
    onLeft: (memberId) => { ownMembers.delete(memberId); },
  };
  /** A topic's partition count is fixed at creation (the port's contract), so it is cached. */
  const partitionCounts = new Map<string, number>();

  /**
   * The topic's max.message.bytes (the broker's message.max.bytes unless the topic overrides it).
   * A principal not allowed DescribeConfigs gets Kafka's default, which the broker's own default is.
   */
  const readMaxBatchBytes = async (topic: string): Promise<number> => {
    try {
      const { resources } = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [{ type: TOPIC_RESOURCE, name: topic, configNames: ['max.message.bytes'] }],
      });
      const value = Number(resources[0]?.configEntries.find((entry) => entry.configName === 'max.message.bytes')?.configValue);
      return Number.isSafeInteger(value) && value > 0 ? value : DEFAULT_MAX_BATCH_BYTES;
    } catch (error) {
      options.logger?.warn({ topic, err: error }, `kafka: could not read ${topic}'s max.message.bytes; assuming ${DEFAULT_MAX_BATCH_BYTES}`);
      return DEFAULT_MAX_BATCH_BYTES;
    }
  };

  /**
   * Resolves once the broker's metadata serves every partition of a topic just created with a
   * leader: createTopics can answer before it does, and a read right after it then fails with
   * UNKNOWN_TOPIC_OR_PARTITION (seen on a loaded host taking the writer lease of a new namespace).
   */
  const untilServed = async (topic: string): Promise<void> => {
    const deadline = Date.now() + TOPIC_SERVED_DEADLINE_MS;
    for (;;) {
      let unknown: unknown;
      try {
        const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
        const served = topics.find((t) => t.name === topic);
        if (served !== undefined && served.partitions.length > 0 && served.partitions.every((p) => p.leader >= 0)) return;
      } catch (error) {
        if ((error as { type?: string }).type !== 'UNKNOWN_TOPIC_OR_PARTITION') throw error;
        unknown = error;
      }
      if (Date.now() > deadline) {
        throw new Error(`kafka: topic ${topic} was created but has no leader after ${TOPIC_SERVED_DEADLINE_MS} ms`, { cause: unknown });
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };

  const partitionCount = async (topic: string): Promise<number> => {
    const cached = partitionCounts.get(topic);
    if (cached !== undefined) return cached;
    const [{ topics }, limit] = await Promise.all([admin.fetchTopicMetadata({ topics: [topic] }), readMaxBatchBytes(topic)]);
    const count = topics.find((t) => t.name === topic)?.partitions.length ?? 0;
    if (count === 0) throw new Error(`kafka: unknown topic ${topic}`);
    maxBatchBytes.set(topic, limit);
    partitionCounts.set(topic, count);
    return count;
  };

  const partitionOf = (topic: string, key: string, count: number): number =>
    partitioner({
      topic,
      partitionMetadata: Array.from({ length: count }, (_, partitionId) => ({
        partitionId, leader: 0, replicas: [0], isr: [0], partitionErrorCode: 0,
      })),
      message: { key, value: null },
    });

  const bounds = async (topic: string, partition: number): Promise<{ low: number; high: number }> => {
    const offsets = await admin.fetchTopicOffsets(topic);
    const found = offsets.find((o) => o.partition === partition);
    if (found === undefined) throw new RangeError(`topic ${topic} has no partition ${partition}`);
    return { low: Number(found.low), high: Number(found.high) };
  };
  const endOffset = async (topic: string, partition: number): Promise<number> => (await bounds(topic, partition)).high;
  // Every consumer group of this process reading a topic shares one fetch per latency class (logFeeds.ts).
  const feeds = createLogFeeds(kafka, bounds, options.consumer);

  return {
    kafka,
    takeOverGroups() {
      sole = true;
    },
    async ensureTopic(topic, partitions) {
      if (!Number.isInteger(partitions) || partitions < 1) throw new RangeError(`invalid partition count ${partitions}`);
      // An existing topic keeps its partition count. Asking first spares the broker an error
      // response; createTopics still resolves false if another process created it meanwhile.
      if ((await admin.listTopics()).includes(topic)) return;
      await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
      await untilServed(topic);
    },
    partitionCount,
    async partitionFor(topic, key) {
      return partitionOf(topic, key, await partitionCount(topic));
    },
    async append(topic, records, appendOptions): Promise<AppendedPosition[]> {
      await appendOptions?.after;
      if (records.length === 0) return [];
      const count = await partitionCount(topic);
      const timestamp = Date.now();
      return appendBatched(topic, records.map((record) => {
        const partition = partitionOf(topic, record.key, count);
        return { ...toKafkaMessage(record, partition, timestamp), partition };
      }));
    },
    async read(topic, partition, fromOffset, max): Promise<LogEntry[]> {
      if (!Number.isInteger(fromOffset) || fromOffset < 0) throw new RangeError(`invalid offset ${fromOffset}`);
      if (max <= 0) return [];
      if (partition < 0 || partition >= (await partitionCount(topic))) throw new RangeError(`topic ${topic} has no partition ${partition}`);
      // Asking past the end is an OFFSET_OUT_OF_RANGE error in Kafka; the port answers [] instead.
      if (fromOffset >= (await endOffset(topic, partition))) return [];
      return readPartition(reader, topic, partition, fromOffset, max);
    },
    endOffset,
    async subscribe(subscribeOptions, handlers) {
      const subscription = await subscribeKafka(kafka, feeds, subscribeOptions, handlers, options.consumer, membership);
      subscriptions.add(subscription);
      subscription.done.then(() => subscriptions.delete(subscription), () => subscriptions.delete(subscription));
      return subscription;
    },
    async close() {
      await Promise.allSettled([...subscriptions].map((subscription) => subscription.stop()));
      await feeds.close();
      await Promise.allSettled([reader.close(), evictor.close(), producers.close(), admin.disconnect()]);
    },
  };
};
