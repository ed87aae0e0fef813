/**
 * The behaviour every RoomLog adapter must show, as one vitest suite. Each adapter's int test calls
 * `describeRoomLogContract` with a factory that opens the adapter over the same data every time (so
 * the durability test can reopen it) and a cleanup run after the suite. Topic names are unique per
 * test, so suites can share one Kafka cluster.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { LogBatch, LogEntry, RoomLog, Subscription } from '../../domain/ports/index.ts';
import { partitionForKey } from '../../infra/embedded/index.ts';
import { collectingMember, roomKeys, waitFor } from './contractHelpers.ts';

export const describeRoomLogContract = (
  name: string,
  makeLog: () => Promise<RoomLog>,
  cleanup: () => Promise<void>,
): void => {
  describe(`RoomLog contract: ${name}`, () => {
    const openLogs: RoomLog[] = [];
    const subscriptions: Subscription[] = [];
    const open = async (): Promise<RoomLog> => {
      const log = await makeLog();
      openLogs.push(log);
      return log;
    };
    const topicName = (): string => `strata-contract-${randomUUID().slice(0, 8)}`;

    afterEach(async () => {
      await Promise.allSettled(subscriptions.splice(0).map((subscription) => subscription.stop()));
      await Promise.all(openLogs.splice(0).map((log) => log.close()));
    });
    afterAll(cleanup);

    it("appends each key to a stable partition, Kafka's murmur2 partition", async () => {
      const log = await open();
      const topic = topicName();
      await log.ensureTopic(topic, 4);
      await log.ensureTopic(topic, 4);
      expect(await log.partitionCount(topic)).toBe(4);
      const keys = roomKeys(12);
      const first = await log.append(topic, keys.map((key) => ({ key, value: { n: 1 } })));
      const second = await log.append(topic, keys.map((key) => ({ key, value: { n: 2 } })));
      for (const [i, key] of keys.entries()) {
        const partition = await log.partitionFor(topic, key);
        expect(partition).toBe(partitionForKey(key, 4));
        expect(first[i].partition).toBe(partition);
        expect(second[i].partition).toBe(partition);
      }
      expect(new Set(first.map((position) => position.partition)).size).toBeGreaterThan(1);
    });

    it('keeps append order inside a partition, with offsets counting up from 0', async () => {
      const log = await open();
      const topic = topicName();
      await log.ensureTopic(topic, 3);
      const key = '!ordered:example.org';
      const partition = await log.partitionFor(topic, key);
      const positions = [
        ...(await log.append(topic, [0, 1, 2].map((n) => ({ key, value: { n } })))),
        ...(await log.append(topic, [{ key, value: { n: 3 }, headers: { type: 'pdu.accepted', v: '1' } }])),
        ...(await log.append(topic, [4, 5, 6, 7].map((n) => ({ key, value: { n } })))),
      ];
      expect(positions).toEqual([0, 1, 2, 3, 4, 5, 6, 7].map((offset) => ({ partition, offset })));
      const entries = await log.read(topic, partition, 0, 100);
      expect(entries.map((entry) => entry.offset)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
      expect(entries.map((entry) => (entry.value as { n: number }).n)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
      expect(entries[3]).toMatchObject({ topic, partition, key, headers: { type: 'pdu.accepted', v: '1' } });
      expect(entries[0].headers).toEqual({});
      expect(Math.abs(entries[0].timestamp - Date.now())).toBeLessThan(60_000);
    });

    it('reads a partition from an offset, bounded by max and by the end', async () => {
      const log = await open();
      const topic = topicName();
      await log.ensureTopic(topic, 2);
      const key = '!reader:example.org';
      const partition = await log.partitionFor(topic, key);
      await log.append(topic, Array.from({ length: 40 }, (_, n) => ({ key, value: { n, text: 'x'.repeat(n) } })));
      const middle = await log.read(topic, partition, 33, 4);
      expect(middle.map((entry) => entry.offset)).toEqual([33, 34, 35, 36]);
      expect(middle.map((entry) => (entry.value as { n: number }).n)).toEqual([33, 34, 35, 36]);
      expect((await log.read(topic, partition, 38, 10)).map((entry) => entry.offset)).toEqual([38, 39]);
      expect(await log.read(topic, partition, 40, 10)).toEqual([]);
      expect(await log.read(topic, 1 - partition, 0, 10)).toEqual([]);
    });

    it('reports the end offset of each partition', async () => {
      const log = await open();
      const topic = topicName();
      await log.ensureTopic(topic, 2);
      expect(await log.endOffset(topic, 0)).toBe(0);
      expect(await log.endOffset(topic, 1)).toBe(0);
      const key = '!end:example.org';
      const partition = await log.partitionFor(topic, key);
      await log.append(topic, [1, 2, 3].map((n) => ({ key, value: n })));
      expect(await log.endOffset(topic, partition)).toBe(3);
      expect(await log.endOffset(topic, 1 - partition)).toBe(0);
    });

    it('delivers everything from the offsets onAssigned returns, in order, without duplicates', async () => {
      const log = await open();
      const topic = topicName();
      await log.ensureTopic(topic, 2);
      const keys = roomKeys(6);
      await log.append(topic, keys.flatMap((key) => [0, 1, 2].map((n) => ({ key, value: { key, n } }))));
      const starts = new Map([[0, 2], [1, 0]]);
      const member = collectingMember({ starts: () => starts });
      subscriptions.push(await log.subscribe({ group: `g-${topic}`, topic, maxBatchSize: 4 }, member.handlers));
      await log.append(topic, keys.map((key) => ({ key, value: { key, n: 3 } })));
      const expected = new Map<number, number>();
      for (const partition of [0, 1]) expected.set(partition, await log.endOffset(topic, partition));
      await waitFor(() => [0, 1].every((p) => member.nextOffset(p) === expected.get(p)), 'every record delivered');
      expect(member.assigned).toEqual([0, 1]);
      for (const partition of [0, 1]) {
        const offsets = member.batches.filter((b) => b.partition === partition).flatMap((b) => b.entries.map((e) => e.offset));
        const from = starts.get(partition) ?? 0;
        expect(offsets).toEqual(Array.from({ length: (expected.get(partition) ?? 0) - from }, (_, i) => from + i));
      }
      for (const batch of member.batches) {
        expect(batch.entries.length).toBeLessThanOrEqual(4);
        expect(batch.highWatermark).toBeGreaterThan(batch.entries[batch.entries.length - 1].offset);
      }
    });

    it('delivers every record, in order, to a background subscription too', async () => {
      const log = await open();
      const topic = topicName();
      await log.ensureTopic(topic, 2);
      const keys = roomKeys(4);
      const member = collectingMember({ starts: () => new Map() });
      subscriptions.push(await log.subscribe({ group: `g-${topic}`, topic, latency: 'background' }, member.handlers));
      // Appended one at a time, as a busy room's messages are.
      for (const n of [0, 1, 2]) for (const key of keys) await log.append(topic, [{ key, value: { key, n } }]);
      const expected = new Map<number, number>();
      for (const partition of [0, 1]) expected.set(partition, await log.endOffset(topic, partition));
      await waitFor(() => [0, 1].every((p) => member.nextOffset(p) === expected.get(p)), 'every record delivered');
      for (const partition of [0, 1]) {
        const offsets = member.batches.filter((b) => b.partition === partition).flatMap((b) => b.entries.map((e) => e.offset));
        expect(offsets).toEqual(Array.from({ length: expected.get(partition) ?? 0 }, (_, i) => i));
      }
    });

    it("starts where onAssigned says even when the group got further before (rebuild from 0)", async () => {
      const log = await open();
      const topic = topicName();
      await log.ensureTopic(topic, 2);
      const group = `g-${topic}`;
      const keys = roomKeys(4);
      await log.append(topic, keys.map((key) => ({ key, value: key })));
      const ends = await Promise.all([0, 1].map((p) => log.endOffset(topic, p)));
      const first = collectingMember({ starts: () => new Map() });
      const firstRun = await log.subscribe({ group, topic }, first.handlers);
      subscriptions.push(firstRun);
      await waitFor(() => [0, 1].every((p) => first.nextOffset(p) === ends[p]), 'first run consumed everything');
      await firstRun.stop();
      // A projection rebuilt from scratch answers 0, whatever the group consumed before.
      const rebuild = collectingMember({ starts: () => new Map([[0, 0], [1, 0]]) });
      subscriptions.push(await log.subscribe({ group, topic }, rebuild.handlers));
      await waitFor(() => [0, 1].every((p) => rebuild.nextOffset(p) === ends[p]), 'rebuild consumed everything');
      const replayed = rebuild.batches.flatMap((batch) => batch.entries.map((entry) => entry.value as string)).sort();
      expect(replayed).toEqual([...keys].sort());
    });

    it('splits partitions between two members of a group and rebalances when one stops', async () => {
      const log = await open();
      const topic = topicName();
      await log.ensureTopic(topic, 4);
      const group = `g-${topic}`;
      // One shared store of positions and handled records, like a projection's database.
      const positions = new Map<number, number>();
      const handled: string[] = [];
      const a = collectingMember({ starts: () => positions, store: { positions, handled } });
      const b = collectingMember({ starts: () => positions, store: { positions, handled } });
      const subA = await log.subscribe({ group, topic }, a.handlers);
      subscriptions.push(subA);
      await waitFor(() => a.owned.size === 4, 'first member owns all partitions');
      const subB = await log.subscribe({ group, topic }, b.handlers);
      subscriptions.push(subB);
      await waitFor(() => a.owned.size === 2 && b.owned.size === 2, 'partitions split between members');
      expect([...a.owned, ...b.owned].sort()).toEqual([0, 1, 2, 3]);

      const keys = roomKeys(16);
      await log.append(topic, keys.flatMap((key) => [0, 1].map((n) => ({ key, value: { key, n } }))));
      await waitFor(() => handled.length === 32, 'first records handled');
      expect(a.batches.length).toBeGreaterThan(0);
      expect(b.batches.length).toBeGreaterThan(0);

      await subB.stop();
      expect(b.revoked.flat().sort()).toEqual(b.assigned.slice().sort());
      await waitFor(() => a.owned.size === 4, 'remaining member takes every partition');
      await log.append(topic, keys.map((key) => ({ key, value: { key, n: 2 } })));
      await waitFor(() => handled.length === 48, 'later records handled');
      expect(new Set(handled).size).toBe(48);
      const total = await Promise.all([0, 1, 2, 3].map((p) => log.endOffset(topic, p)));
      expect(total.reduce((sum, n) => sum + n, 0)).toBe(48);
    });

    it('rejects done when a handler throws, and calls it no more', async () => {
      const log = await open();
      const topic = topicName();
      await log.ensureTopic(topic, 1);
      let calls = 0;
      const subscription = await log.subscribe({ group: `g-${topic}`, topic }, {
        onAssigned: async (_topic, partitions) => new Map(partitions.map((p) => [p, 0])),
        onRevoked: async () => undefined,
        onBatch: async (_batch: LogBatch) => {
          calls += 1;
          throw new Error('projection failed');
        },
      });
      subscriptions.push(subscription);
      await log.append(topic, [{ key: '!boom:example.org', value: 1 }]);
      await expect(subscription.done).rejects.toThrow('projection failed');
      await log.append(topic, [{ key: '!boom:example.org', value: 2 }]);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(calls).toBe(1);
    });

    it('appends only once `after` settles, after the append it names, and not at all when it rejects', async () => {
      const log = await open();
      const topic = topicName();
      await log.ensureTopic(topic, 1);
      const key = '!pipelined:example.org';
      let release: () => void = () => undefined;
      const held = new Promise<void>((resolve) => (release = resolve));
      // The second append is handed over first, behind the first one's promise.
      const second = log.append(topic, [{ key, value: 'second' }], { after: held.then(() => first) });
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(await log.endOffset(topic, 0)).toBe(0);
      const first = log.append(topic, [{ key, value: 'first' }], { after: held });
      release();
      expect(await first).toEqual([{ partition: 0, offset: 0 }]);
      expect(await second).toEqual([{ partition: 0, offset: 1 }]);

      const refused = log.append(topic, [{ key, value: 'lost' }], { after: Promise.reject(new Error('the append before failed')) });
      await expect(refused).rejects.toThrow('the append before failed');
      expect((await log.read(topic, 0, 0, 10)).map((entry) => entry.value)).toEqual(['first', 'second']);
    });

    it('keeps everything across close and reopen, and appends continue at the right offsets', async () => {
      const topic = topicName();
      const key = '!durable:example.org';
      const first = await open();
      await first.ensureTopic(topic, 3);
      const partition = await first.partitionFor(topic, key);
      await first.append(topic, Array.from({ length: 50 }, (_, n) => ({ key, value: { n }, headers: { n: String(n) } })));
      const before: LogEntry[] = await first.read(topic, partition, 0, 100);
      await first.close();
      openLogs.splice(openLogs.indexOf(first), 1);

      const second = await open();
      expect(await second.partitionCount(topic)).toBe(3);
      expect(await second.endOffset(topic, partition)).toBe(50);
      expect(await second.read(topic, partition, 0, 100)).toEqual(before);
      const positions = await second.append(topic, [{ key, value: { n: 50 } }, { key, value: { n: 51 } }]);
      expect(positions).toEqual([{ partition, offset: 50 }, { partition, offset: 51 }]);
      expect((await second.read(topic, partition, 49, 10)).map((entry) => (entry.value as { n: number }).n)).toEqual([49, 50, 51]);
    });
  });
};
