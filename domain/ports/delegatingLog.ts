/**
 * The base of every RoomLog decorator: each method goes to `log` unless `overrides` replaces it,
 * so a decorator states only what it changes.
 */
import type { RoomLog } from './log.ts';

export const delegatingLog = (log: RoomLog, overrides: Partial<RoomLog>): RoomLog => ({
  ensureTopic: (topic, partitions) => log.ensureTopic(topic, partitions),
  partitionCount: (topic) => log.partitionCount(topic),
  partitionFor: (topic, key) => log.partitionFor(topic, key),
  append: (topic, records, options) => log.append(topic, records, options),
  read: (topic, partition, fromOffset, max) => log.read(topic, partition, fromOffset, max),
  endOffset: (topic, partition) => log.endOffset(topic, partition),
  subscribe: (options, handlers) => log.subscribe(options, handlers),
  close: () => log.close(),
  ...overrides,
});
