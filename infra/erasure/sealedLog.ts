/**
 * A RoomLog decorator that seals event content on append and opens it on read (sealing.ts), so the
 * log contract and every consumer stay as they are: a consumer reads the PDU as appended while its
 * key exists and the redacted PDU once the key was destroyed. Only `topic` is sealed; records
 * appended before sealing was turned on carry no header and are read as they are.
 *
 * Every consumer group of the topic in this process (the read models, the senders, analytics)
 * reads every record, and opening one (parsing, deciphering, parsing the PDU) is most of what a
 * consumer spends on it. So the records opened last are remembered by their key id, which names
 * one record: the first consumer opens a record and the others share what it opened, and records
 * this process appends are remembered as appended, so none of its consumers opens those at all.
 * A remembered record is served only while its key exists (each batch still asks the key store),
 * and forgotten once a lookup misses it. Shared values are frozen: a consumer must not change what
 * the others read.
 */
import { delegatingLog } from '../../domain/ports/index.ts';
import type { AppendOptions, ConsumerHandlers, ContentKeyStore, LogBatch, LogEntry, LogRecordToAppend, LogValue, RoomLog } from '../../domain/index.ts';
import { openRecord, SEALED_HEADER, sealableRecord, sealRecord } from './sealing.ts';

/**
 * Opened records remembered: a few seconds of the log at a thousand events a second, longer than
 * the latest consumer (analytics, push: about half a second) trails the first.
 */
export const DEFAULT_OPENED_RECORDS = 4096;

export interface SealedLogOptions {
  readonly topic: string;
  readonly keys: ContentKeyStore;
  /** How many opened records are remembered for the process's other consumers (0: none). */
  readonly openedRecords?: number;
}

/** Owner of a key: the event's sender (erasing that user destroys it). */
const senderOf = (pdu: { readonly sender?: unknown }): string => (typeof pdu.sender === 'string' ? pdu.sender : '');

const deepFreeze = (value: LogValue): LogValue => {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const item of Object.values(value)) deepFreeze(item);
    Object.freeze(value);
  }
  return value;
};

/**
 * Opened record values by key id, oldest dropped first beyond `max`. A record appended here is kept
 * as handed to the log and put through its JSON encoding when first read (by a consumer, after the
 * append has answered): the writer does not change a record it appended.
 */
const createOpenedRecords = (max: number) => {
  const values = new Map<string, { readonly opened: LogValue } | { readonly appended: LogValue }>();
  const keep = (keyId: string, value: { readonly opened: LogValue } | { readonly appended: LogValue }): void => {
    if (max <= 0) return;
    values.set(keyId, value);
    if (values.size > max) values.delete(values.keys().next().value!);
  };
  const remember = (keyId: string, value: LogValue): LogValue => {
    const opened = deepFreeze(value);
    keep(keyId, { opened });
    return opened;
  };
  return {
    get(keyId: string): LogValue | undefined {
      const known = values.get(keyId);
      if (known === undefined || 'opened' in known) return known?.opened;
      return remember(keyId, JSON.parse(JSON.stringify(known.appended)) as LogValue);
    },
    remember,
    appended: (keyId: string, value: LogValue): void => keep(keyId, { appended: value }),
    forget: (keyId: string): void => void values.delete(keyId),
  };
};

export const withSealedContent = <L extends RoomLog>(log: L, options: SealedLogOptions): L => {
  const { topic: sealedTopic, keys } = options;
  const openedRecords = createOpenedRecords(options.openedRecords ?? DEFAULT_OPENED_RECORDS);

  const append = async (records: readonly LogRecordToAppend[], options?: AppendOptions) => {
    const sealables = records.map((record) => sealableRecord(record.value));
    const uses = sealables.flatMap((sealable) => (sealable === undefined ? [] : [{ eventId: sealable.eventId, roomId: sealable.roomId, owner: senderOf(sealable.pdu) }]));
    // The keys are durable before any record that needs them is (made ahead: rarely a wait).
    const reserved = uses.length === 0 ? [] : await keys.reserve(uses);
    let next = 0;
    const sealed = records.map((record, index) => {
      const sealable = sealables[index];
      if (sealable === undefined) return record;
      const { keyId, key } = reserved[next++]!;
      return { key: record.key, value: sealRecord(record.value, sealable, keyId, key), headers: { ...record.headers, [SEALED_HEADER]: keyId } };
    });
    const positions = await log.append(sealedTopic, sealed, options);
    // The caller learns the key ids its records are delivered with (appendedLocally.ts hands them
    // to the rooms projection, which binds each key to its event: keyBindings.ts).
    return positions.map((position, index) => {
      const keyId = sealed[index]!.headers?.[SEALED_HEADER];
      if (keyId === undefined) return position;
      openedRecords.appended(keyId, records[index]!.value);
      return { ...position, headers: { ...position.headers, [SEALED_HEADER]: keyId } };
    });
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
      if (key === undefined) openedRecords.forget(keyId);
      let opened: LogValue | undefined;
      return {
        topic: entry.topic,
        partition: entry.partition,
        offset: entry.offset,
        key: entry.key,
        // Asked when read, not when the batch came: consumers fetch the same records at once.
        get value(): LogValue {
          opened ??= key === undefined
            ? openRecord(entry.value, key)
            : openedRecords.get(keyId) ?? openedRecords.remember(keyId, openRecord(entry.value, key));
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
      append: async (topic, records, appendOptions) =>
        (topic === sealedTopic ? append(records, appendOptions) : log.append(topic, records, appendOptions)),
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
