import type { KafkaMessage } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { toKafkaMessage, toLogEntry } from './records.ts';

const fetched = (value: string | null, type = 'pdu.accepted'): KafkaMessage => ({
  key: Buffer.from('!room:a.test'),
  value: value === null ? null : Buffer.from(value),
  timestamp: '1700000000000',
  attributes: 0,
  offset: '42',
  headers: { type: Buffer.from(type) },
} as KafkaMessage);

describe('Kafka records', () => {
  it('round-trips a record through a Kafka message', () => {
    const message = toKafkaMessage({ key: '!room:a.test', value: { n: 1, s: 'é' }, headers: { type: 't' } }, 3, 1700000000000);
    const entry = toLogEntry('topic', 3, fetched(String(message.value), 't'));
    expect(entry).toEqual({ topic: 'topic', partition: 3, offset: 42, key: '!room:a.test', value: { n: 1, s: 'é' }, headers: { type: 't' }, timestamp: 1700000000000 });
  });

  it('parses a value only when it is read, once', () => {
    const broken = toLogEntry('topic', 0, fetched('{not json'));
    expect(broken.offset).toBe(42);
    expect(broken.headers).toEqual({ type: 'pdu.accepted' });
    expect(() => broken.value).toThrow(SyntaxError);

    const entry = toLogEntry('topic', 0, fetched('{"a":[1,2]}'));
    expect(entry.value).toBe(entry.value);
    expect({ ...entry, topic: 'renamed' }).toMatchObject({ topic: 'renamed', value: { a: [1, 2] } });
    expect(toLogEntry('topic', 0, fetched(null)).value).toBeNull();
  });
});
