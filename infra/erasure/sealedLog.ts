/**
 * A RoomLog decorator that seals event content on append and opens it on read (sealing.ts), so the
 * log contract and every consumer stay as they are: a consumer reads the PDU as appended while its
 * key exists and the redacted PDU once the key was destroyed. Only `topic` is sealed; records
 * appended before sealing was turned on carry no header and are read as they are.
 */
import { delegatingLog } from '../../domain/ports/index.ts';
import type { ConsumerHandlers, ContentKeyStore, LogBatch, LogEntry, LogRecordToAppend, LogValue, NewContentKey, RoomLog } from '../../domain/index.ts';
import { newDataKey, newKeyId, openRecord, SEALED_HEADER, sealableRecord, sealRecord } from './sealing.ts';

export interface SealedLogOptions {
  readonly topic: string;
  readonly keys: ContentKeyStore;
}

/** Owner of a key: the event's sender (erasing that user destroys it). */
const senderOf = (pdu: { readonly sender?: unknown }): string => (typeof pdu.sender === 'string' ? pdu.sender : '');

export const withSealedContent = <L extends RoomLog>(log: L, options: SealedLogOptions): L => {
  const { topic: sealedTopic, keys } = options;

  const seal = async (records: readonly LogRecordToAppend[]): Promise<LogRecordToAppend[]> => {
    const created: NewContentKey[] = [];
    const sealed = records.map((record) => {
      const sealable = sealableRecord(record.value);
      if (sealable === undefined) return record;
      const key = newDataKey();
      const keyId = newKeyId();
      created.push({ keyId, eventId: sealable.eventId, roomId: sealable.roomId, owner: senderOf(sealable.pdu), key });
      return { key: record.key, value: sealRecord(record.value, sealable, keyId, key), headers: { ...record.headers, [SEALED_HEADER]: keyId } };
    });
    // The keys are durable before any record that needs them is.
    if (created.length > 0) await keys.create(created);
    return sealed;
  };

  /** Entries with their sealed values opened lazily, like the adapters parse them lazily. */
  const open = async (entries: readonly LogEntry[]): Promise<LogEntry[]> => {
    const keyIds = [...new Set(entries.flatMap((entry) => entry.headers[SEALED_HEADER] ?? []))];
    if (keyIds.length === 0) return [...entries];
    const found = await keys.lookup(keyIds);
    return entries.map((entry) => {
      const keyId = entry.headers[SEALED_HEADER];
      if (keyId === undefined) return entry;
      const key = found.get(keyId);
      let opened: LogValue | undefined;
      return {
        topic: entry.topic,
        partition: entry.partition,
        offset: entry.offset,
        key: entry.key,
        get value(): LogValue {
          opened ??= openRecord(entry.value, key);
          return opened;
        },
        headers: entry.headers,
        timestamp: entry.timestamp,
      };
    });
  };

  const openBatch = async (batch: LogBatch): Promise<LogBatch> => ({ ...batch, entries: await open(batch.entries) });

  // The log's own extra members (e.g. a lease) stay; the port's methods go through the decorator.
  return {
    ...log,
    ...delegatingLog(log, {
      append: async (topic, records) => log.append(topic, topic === sealedTopic ? await seal(records) : records),
      read: async (topic, partition, fromOffset, max) => {
        const entries = await log.read(topic, partition, fromOffset, max);
        return topic === sealedTopic ? open(entries) : entries;
      },
      subscribe: (subscribeOptions, handlers) => {
        if (subscribeOptions.topic !== sealedTopic) return log.subscribe(subscribeOptions, handlers);
        const inner: ConsumerHandlers = {
          onAssigned: (topic, partitions) => handlers.onAssigned(topic, partitions),
          onRevoked: (topic, partitions) => handlers.onRevoked(topic, partitions),
          onBatch: async (batch) => handlers.onBatch(await openBatch(batch)),
        };
        return log.subscribe(subscribeOptions, inner);
      },
    }),
  };
};
