/** Conversions between the log port's records and Kafka messages (UTF-8 key, JSON value). */
import type { IHeaders, KafkaMessage, Message } from 'kafkajs';
import type { LogEntry, LogRecordToAppend, LogValue } from '../../domain/ports/index.ts';

export const toKafkaMessage = (record: LogRecordToAppend, partition: number, timestamp: number): Message => ({
  key: record.key,
  value: JSON.stringify(record.value),
  partition,
  timestamp: String(timestamp),
  ...(record.headers === undefined ? {} : { headers: { ...record.headers } }),
});

const headerText = (value: IHeaders[string]): string | undefined => {
  if (value === undefined) return undefined;
  const first = Array.isArray(value) ? value[value.length - 1] : value;
  return first === undefined ? undefined : first.toString();
};

/**
 * A fetched record whose JSON value is parsed on first read. Every consumer group of a topic fetches
 * every record, and most skip most of them (records the writer already applied locally, events no
 * pusher is interested in) without looking at the value. `value` is an own enumerable getter, so a
 * spread copy still carries it.
 */
export const toLogEntry = (topic: string, partition: number, message: KafkaMessage): LogEntry => {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    const text = headerText(value);
    if (text !== undefined) headers[name] = text;
  }
  let raw = message.value;
  let parsed: LogValue = null;
  return {
    topic,
    partition,
    offset: Number(message.offset),
    key: message.key?.toString('utf8') ?? '',
    get value(): LogValue {
      if (raw !== null) {
        parsed = JSON.parse(raw.toString('utf8')) as LogValue;
        raw = null;
      }
      return parsed;
    },
    headers,
    timestamp: Number(message.timestamp),
  };
};
