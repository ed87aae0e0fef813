import { describe, expect, it } from 'vitest';
import type { LogEntry } from '../../domain/ports/index.ts';
import { ConsumerGroup, type PartitionSource } from './consumerGroup.ts';

/** One partition held in memory, counting how often a worker asks to be woken. */
const memoryPartition = () => {
  const entries: LogEntry[] = [];
  let waiting: (() => void)[] = [];
  let wakeRequests = 0;
  const source: PartitionSource = {
    topic: 'rooms',
    partitions: 1,
    read: async (_partition, from, max) => entries.slice(from, from + max),
    endOffset: () => entries.length,
    nextAppend: () => {
      wakeRequests++;
      return new Promise((resolve) => waiting.push(resolve));
    },
  };
  const append = (value: number): void => {
    entries.push({ topic: 'rooms', partition: 0, offset: entries.length, key: 'k', value, headers: {}, timestamp: 0 });
    const woken = waiting;
    waiting = [];
    for (const wake of woken) wake();
  };
  return { source, append, wakeRequests: () => wakeRequests };
};

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
});
