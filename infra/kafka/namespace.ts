/**
 * Several homeservers can share one Kafka cluster: each sees the topics and consumer groups of its
 * own namespace under their ordinary names. `ns.strata.room.events` on the brokers is
 * `strata.room.events` to the server whose namespace is `ns`.
 */
import type { ConsumerHandlers, LogBatch, LogEntry, RoomLog } from '../../domain/index.ts';

export const withNamespace = <L extends RoomLog>(log: L, namespace: string): L => {
  const prefix = `${namespace}.`;
  const physical = (name: string): string => `${prefix}${name}`;
  const logical = (name: string): string => (name.startsWith(prefix) ? name.slice(prefix.length) : name);
  // Not a spread: that would read (and parse) every value the consumer may skip.
  const unprefixedEntry = (entry: LogEntry): LogEntry => ({
    topic: logical(entry.topic),
    partition: entry.partition,
    offset: entry.offset,
    key: entry.key,
    get value() {
      return entry.value;
    },
    headers: entry.headers,
    timestamp: entry.timestamp,
  });
  const unprefixed = (batch: LogBatch): LogBatch => ({
    ...batch,
    topic: logical(batch.topic),
    entries: batch.entries.map(unprefixedEntry),
  });
  return {
    ...log,
    ensureTopic: (topic, partitions) => log.ensureTopic(physical(topic), partitions),
    partitionCount: (topic) => log.partitionCount(physical(topic)),
    partitionFor: (topic, key) => log.partitionFor(physical(topic), key),
    append: (topic, records, options) => log.append(physical(topic), records, options),
    read: async (topic, partition, fromOffset, max) =>
      (await log.read(physical(topic), partition, fromOffset, max)).map(unprefixedEntry),
    endOffset: (topic, partition) => log.endOffset(physical(topic), partition),
    subscribe: (options, handlers) => {
      const inner: ConsumerHandlers = {
        onAssigned: (topic, partitions) => handlers.onAssigned(logical(topic), partitions),
        onRevoked: (topic, partitions) => handlers.onRevoked(logical(topic), partitions),
        onBatch: (batch) => handlers.onBatch(unprefixed(batch)),
      };
      return log.subscribe({ ...options, group: physical(options.group), topic: physical(options.topic) }, inner);
    },
    close: () => log.close(),
  };
};
