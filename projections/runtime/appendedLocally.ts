/**
 * The writer's fast path to its read model. A process that appends to a projection's topic already
 * holds the records and, once the log acknowledged them, their offsets: it hands them to the
 * projection at once instead of waiting for the consumer to fetch them back, which is most of a
 * send's read-your-writes wait on Kafka. The log stays the source of truth: the projection applies
 * them only when its stored position is exactly their first offset, in the same transaction with
 * the position's compare-and-set (positions.ts), serialised with the consumer's batches; otherwise
 * (another process owns the partition, earlier records are not applied yet) the consumer applies
 * them as before, and it skips whatever was applied here.
 */
import { delegatingLog, type LogEntry, type LogRecordToAppend, type LogValue, type RoomLog } from '../../domain/ports/index.ts';
import type { RunningConsumer } from './consume.ts';

/**
 * `log`, whose appends to `topic` are also handed to each of `projections` (without delaying the
 * append's answer). Only for projections whose statements do not depend on the entry's timestamp:
 * the log stamps its own, which this process does not learn. Their consumers may then take records
 * late (`latency: 'background'`): what this process appends reaches them without a fetch.
 */
export const applyingAppended = (
  log: RoomLog, projections: readonly Pick<RunningConsumer, 'applyAppended'>[], topic: string,
): RoomLog => delegatingLog(log, {
  async append(appendTo, records, options) {
    const positions = await log.append(appendTo, records, options);
    if (appendTo !== topic || positions.length !== records.length) return positions;
    const timestamp = Date.now();
    const byPartition = new Map<number, LogEntry[]>();
    positions.forEach(({ partition, offset, headers }, index) => {
      let entries = byPartition.get(partition);
      if (entries === undefined) byPartition.set(partition, (entries = []));
      entries.push(entryOf(topic, partition, offset, records[index]!, timestamp, headers));
    });
    // The append's caller waits for the projection separately (waitFor); a declined or failed
    // local application leaves the entries to the consumer.
    for (const entries of byPartition.values()) {
      for (const projection of projections) void projection.applyAppended(entries).catch(() => false);
    }
    return positions;
  },
});

/**
 * The entry as the log will deliver it: values and headers go through their JSON encoding, and the
 * headers the log added on the way (AppendedPosition.headers) are there too.
 */
const entryOf = (
  topic: string, partition: number, offset: number, record: LogRecordToAppend, timestamp: number, added: Readonly<Record<string, string>> | undefined,
): LogEntry => ({
  topic,
  partition,
  offset,
  key: record.key,
  value: JSON.parse(JSON.stringify(record.value)) as LogValue,
  headers: { ...record.headers, ...added },
  timestamp,
});
