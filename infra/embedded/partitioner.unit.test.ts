import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Partitioners } from 'kafkajs';
import { murmur2, partitionForKey } from './partitioner.ts';

describe('murmur2 partitioner', () => {
  it('matches the Java client vectors (Kafka UtilsTest.testMurmur2)', () => {
    const cases: Array<[string, number]> = [
      ['21', -973932308],
      ['foobar', -790332482],
      ['a-little-bit-long-string', -985981536],
      ['a-little-bit-longer-string', -1486304829],
      ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
      ['abc', 479470107],
    ];
    for (const [input, expected] of cases) expect(murmur2(new TextEncoder().encode(input))).toBe(expected);
  });

  it("agrees with kafkajs's DefaultPartitioner for any key and partition count", () => {
    const kafkajs = Partitioners.DefaultPartitioner();
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 80 }), fc.integer({ min: 1, max: 300 }), (key, partitions) => {
        const partitionMetadata = Array.from({ length: partitions }, (_, partitionId) => ({
          partitionId, leader: 0, replicas: [0], isr: [0], partitionErrorCode: 0,
        }));
        const expected = kafkajs({ topic: 't', partitionMetadata, message: { key, value: null } });
        expect(partitionForKey(key, partitions)).toBe(expected);
      }),
      { numRuns: 2000 },
    );
  });

  it('rejects a non-positive partition count', () => {
    expect(() => partitionForKey('!room:example.org', 0)).toThrow(RangeError);
  });
});
