/**
 * Kafka's default partitioner for keyed records: `toPositive(murmur2(utf8(key))) % partitions`, as
 * in the Java client (Utils.murmur2 / BuiltInPartitioner.partitionForKey) and kafkajs's
 * DefaultPartitioner. The embedded log uses it so that a room lands in the same partition number
 * whichever log backs the server.
 */

const SEED = 0x9747b28c;
const M = 0x5bd1e995;

/** Kafka's 32-bit murmur2 (signed result, like Java's int). */
export const murmur2 = (data: Uint8Array): number => {
  const length = data.length;
  let h = (SEED ^ length) | 0;
  const length4 = length >>> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k = data[i4] | (data[i4 + 1] << 8) | (data[i4 + 2] << 16) | (data[i4 + 3] << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  // The Java switch falls through: 3 bytes left mixes all three, 2 mixes two, 1 mixes one.
  const tail = length & ~3;
  const left = length & 3;
  if (left === 3) h ^= data[tail + 2] << 16;
  if (left >= 2) h ^= data[tail + 1] << 8;
  if (left >= 1) {
    h ^= data[tail];
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
};

const encoder = new TextEncoder();

/** The partition of a keyed record in a topic of `partitions` partitions. */
export const partitionForKey = (key: string, partitions: number): number => {
  if (!Number.isInteger(partitions) || partitions < 1) throw new RangeError(`invalid partition count ${partitions}`);
  return (murmur2(encoder.encode(key)) & 0x7fffffff) % partitions;
};
