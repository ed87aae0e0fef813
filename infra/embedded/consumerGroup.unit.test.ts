import { describe, expect, it } from 'vitest';
import type { LogEntry } from '../../domain/ports/index.ts';
import { ConsumerGroup, type PartitionSource } from './consumerGroup.ts';

/** Partitions held in memory, counting how often a worker asks to be woken. */
const memoryPartitions = (count = 1) => {
  const entries: LogEntry[][] = Array.from({ length: count }, () => []);
  const waiting: (() => void)[][] = Array.from({ length: count }, () => []);
  let wakeRequests = 0;
  const source: PartitionSource = {
    topic: 'rooms',
    partitions: count,
    read: async (partition, from, max) => entries[partition]!.slice(from, from + max),
    endOffset: (partition) => entries[partition]!.length,
    nextAppend: (partition) => {
      wakeRequests++;
      return new Promise((resolve) => waiting[partition]!.push(resolve));
    },
  };
  const append = (value: number, partition = 0): void => {
    const held = entries[partition]!;
    held.push({ topic: 'rooms', partition, offset: held.length, key: 'k', value, headers: {}, timestamp: 0 });
    for (const wake of waiting[partition]!.splice(0)) wake();
  };
  return { source, append, wakeRequests: () => wakeRequests };
};
const memoryPartition = () => memoryPartitions(1);

describe('a lingering member of an embedded consumer group', () => {
  it('waits out its linger on the timer, asking to be woken once per append, not in a spin', async () => {
    const partition = memoryPartition();
    const group = new ConsumerGroup(partition.source);
    const batches: number[][] = [];
    const member = await group.join({
      onAssigned: async () => new Map([[0, 0]]),
      onRevoked: async () => undefined,
      onBatch: async (batch) => {
        batches.push(batch.entries.map((entry) => entry.value as number));
      },
    }, 100, 30);
    partition.append(1);
    partition.append(2);
    // A busy turn of the event loop before the member gets to run: the timer it sets counts from
    // the loop's cached time, already behind the real one.
    const busyUntil = performance.now() + 15;
    while (performance.now() < busyUntil) { /* busy */ }
    while (batches.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    await member.stop();
    expect(batches).toEqual([[1, 2]]);
    // Caught up before the appends, then inside the linger after each: a handful, not thousands.
    expect(partition.wakeRequests()).toBeLessThanOrEqual(5);
  });

  it('hands over what gathered in each of its partitions together, when their shared linger ends', async () => {
    const partitions = memoryPartitions(2);
    const group = new ConsumerGroup(partitions.source);
    // Macrotasks seen so far: two batches handed over in the same one were handed over together.
    let turn = 0;
    const ticker = setInterval(() => turn++, 1);
    const handed: { partition: number; values: number[]; turn: number }[] = [];
    const member = await group.join({
      onAssigned: async () => new Map([[0, 0], [1, 0]]),
      onRevoked: async () => undefined,
      onBatch: async (batch) => {
        handed.push({ partition: batch.partition, values: batch.entries.map((entry) => entry.value as number), turn });
      },
    }, 100, 80);
    try {
      partitions.append(1, 0);
      await new Promise((resolve) => setTimeout(resolve, 30));
      partitions.append(2, 1);
      while (handed.length < 2) await new Promise((resolve) => setTimeout(resolve, 5));
    } finally {
      clearInterval(ticker);
      await member.stop();
    }
    expect(handed.map(({ partition, values }) => [partition, values]).sort()).toEqual([[0, [1]], [1, [2]]]);
    expect(handed[0]!.turn).toBe(handed[1]!.turn);
  });
});
