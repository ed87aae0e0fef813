import { describe, expect, it } from 'vitest';
import { createAppendBatcher, recordBytes, type AppendBatcherOptions, type OutgoingMessage, type SendRequest } from './appendBatcher.ts';

const message = (partition: number, value: string): OutgoingMessage => ({ partition, key: 'k', value });

/** A broker stand-in: per topic partition offsets; each request is held until released. */
const fakeBroker = () => {
  const ends = new Map<string, number>();
  const requests: { byTopic: ReadonlyMap<string, OutgoingMessage[]>; release: (fail?: Error) => void }[] = [];
  const send: SendRequest = (byTopic) => new Promise((resolve, reject) => {
    requests.push({
      byTopic,
      release: (fail) => {
        if (fail !== undefined) return reject(fail);
        const acks: { topic: string; partition: number; baseOffset: number }[] = [];
        for (const [topic, messages] of byTopic) {
          for (const partition of new Set(messages.map((m) => m.partition))) {
            const key = `${topic}/${partition}`;
            const base = ends.get(key) ?? 0;
            ends.set(key, base + messages.filter((m) => m.partition === partition).length);
            acks.push({ topic, partition, baseOffset: base });
          }
        }
        resolve(acks);
      },
    });
  });
  return { send, requests };
};

const tick = () => new Promise((resolve) => setImmediate(resolve));

const unbounded: AppendBatcherOptions = { maxBatchBytes: () => 1 << 30, maxRequestBytes: 1 << 30 };

/** The values each request carried, per topic partition. */
const carried = (requests: ReturnType<typeof fakeBroker>['requests']) => requests.map(({ byTopic }) =>
  Object.fromEntries([...byTopic].flatMap(([topic, messages]) =>
    [...new Set(messages.map((m) => m.partition))].map((partition) =>
      [`${topic}/${partition}`, messages.filter((m) => m.partition === partition).map((m) => m.value)]))));

describe('the Kafka append batcher', () => {
  it('sends the first append at once and the appends made meanwhile together, each with its own positions', async () => {
    const broker = fakeBroker();
    const append = createAppendBatcher(broker.send, unbounded);
    const first = append('t', [message(0, 'a'), message(1, 'b')]);
    expect(broker.requests).toHaveLength(1);
    const second = append('t', [message(0, 'c')]);
    const third = append('t', [message(0, 'd'), message(0, 'e')]);
    const other = append('u', [message(0, 'x')]);
    expect(broker.requests).toHaveLength(1);
    broker.requests[0]!.release();
    expect(await first).toEqual([{ partition: 0, offset: 0 }, { partition: 1, offset: 0 }]);
    await tick();
    expect(broker.requests).toHaveLength(2);
    expect([...broker.requests[1]!.byTopic].map(([topic, messages]) => [topic, messages.map((m) => m.value)]))
      .toEqual([['t', ['c', 'd', 'e']], ['u', ['x']]]);
    broker.requests[1]!.release();
    expect(await second).toEqual([{ partition: 0, offset: 1 }]);
    expect(await third).toEqual([{ partition: 0, offset: 2 }, { partition: 0, offset: 3 }]);
    expect(await other).toEqual([{ partition: 0, offset: 0 }]);
  });

  it('sends what an answer’s callers append on hearing it with the appends that waited, not a request later', async () => {
    const broker = fakeBroker();
    const append = createAppendBatcher(broker.send, unbounded);
    // Room a appends again once its first append is acknowledged; room b's append waited meanwhile.
    const roomA = append('t', [message(0, 'a1')]).then(async () => {
      await Promise.resolve();
      return append('t', [message(0, 'a2')]);
    });
    const roomB = append('t', [message(1, 'b1')]);
    broker.requests[0]!.release();
    await tick();
    expect(carried(broker.requests)).toEqual([{ 't/0': ['a1'] }, { 't/1': ['b1'], 't/0': ['a2'] }]);
    broker.requests[1]!.release();
    expect(await roomA).toEqual([{ partition: 0, offset: 1 }]);
    expect(await roomB).toEqual([{ partition: 1, offset: 0 }]);
  });

  it('fails every append of a failed request and keeps serving later ones', async () => {
    const broker = fakeBroker();
    const append = createAppendBatcher(broker.send, unbounded);
    const first = append('t', [message(0, 'a')]);
    const second = append('t', [message(0, 'b')]);
    const third = append('t', [message(0, 'c')]);
    broker.requests[0]!.release();
    await first;
    await tick();
    broker.requests[1]!.release(new Error('broker gone'));
    await expect(second).rejects.toThrow('broker gone');
    await expect(third).rejects.toThrow('broker gone');
    const fourth = append('t', [message(0, 'd')]);
    await tick();
    expect(broker.requests).toHaveLength(3);
    broker.requests[2]!.release();
    expect(await fourth).toEqual([{ partition: 0, offset: 1 }]);
  });

  it('rejects an append whose partition the broker did not acknowledge', async () => {
    const append = createAppendBatcher(async () => [], unbounded);
    await expect(append('t', [message(3, 'a')])).rejects.toThrow('no acknowledgement for t/3');
  });

  describe('cuts a run into requests within the byte budget', () => {
    // 100-byte values (137 bytes a record at most, key and framing included) and a topic limit of
    // a 61-byte batch header plus four records.
    const value = (n: number) => String(n).padStart(100, '0');
    const size = recordBytes(message(0, value(0)));
    const limited: AppendBatcherOptions = { maxBatchBytes: () => 61 + 4 * size };

    it('sends the requests one after another, each partition batch within the topic limit, positions consecutive', async () => {
      const broker = fakeBroker();
      const append = createAppendBatcher(broker.send, limited);
      const first = append('t', [message(0, value(0))]);
      const big = append('t', [0, 1, 2, 3, 4, 5].map((n) => message(0, value(n))));
      const mixed = append('t', [message(1, value(10)), message(0, value(6))]);
      const small = append('t', [message(0, value(7)), message(0, value(8))]);
      broker.requests[0]!.release();
      expect(await first).toEqual([{ partition: 0, offset: 0 }]);
      await tick();
      expect(broker.requests).toHaveLength(2);
      broker.requests[1]!.release();
      await tick();
      // The next request waits for the previous one's acknowledgement.
      expect(broker.requests).toHaveLength(3);
      broker.requests[2]!.release();
      await tick();
      broker.requests[3]!.release();
      expect(await big).toEqual([0, 1, 2, 3, 4, 5].map((n) => ({ partition: 0, offset: n + 1 })));
      expect(await mixed).toEqual([{ partition: 1, offset: 0 }, { partition: 0, offset: 7 }]);
      expect(await small).toEqual([{ partition: 0, offset: 8 }, { partition: 0, offset: 9 }]);
      expect(carried(broker.requests.slice(1))).toEqual([
        { 't/0': [0, 1, 2, 3].map(value) },
        { 't/0': [4, 5, 6, 7].map(value), 't/1': [value(10)] },
        { 't/0': [value(8)] },
      ]);
    });

    it('bounds a whole request too', async () => {
      const broker = fakeBroker();
      const append = createAppendBatcher(broker.send, { maxBatchBytes: () => 1 << 20, maxRequestBytes: 3 * size });
      const appended = append('t', [0, 1, 2, 3].map((n) => message(n, value(n))));
      broker.requests[0]!.release();
      await tick();
      broker.requests[1]!.release();
      expect(await appended).toEqual([0, 1, 2, 3].map((n) => ({ partition: n, offset: 0 })));
      expect(carried(broker.requests)).toEqual([
        { 't/0': [value(0)], 't/1': [value(1)], 't/2': [value(2)] },
        { 't/3': [value(3)] },
      ]);
    });

    it('fails alone an append holding a record larger than the limit', async () => {
      const broker = fakeBroker();
      const append = createAppendBatcher(broker.send, limited);
      const tooLarge = append('t', [message(0, value(0)), message(0, 'x'.repeat(700))]);
      await expect(tooLarge).rejects.toThrow(`record exceeds t's batch limit of ${61 + 4 * size} bytes (max.message.bytes)`);
      expect(broker.requests).toHaveLength(0);
      const next = append('t', [message(0, value(1))]);
      const other = append('u', [message(0, value(2))]);
      await tick();
      expect(carried(broker.requests)).toEqual([{ 't/0': [value(1)], 'u/0': [value(2)] }]);
      broker.requests[0]!.release();
      expect(await next).toEqual([{ partition: 0, offset: 0 }]);
      expect(await other).toEqual([{ partition: 0, offset: 0 }]);
    });

    it('fails the appends of a failed request and of the requests after it, which are not sent; earlier ones keep their positions', async () => {
      const broker = fakeBroker();
      const append = createAppendBatcher(broker.send, limited);
      const first = append('t', [message(0, value(0))]);
      const done = append('t', [0, 1, 2, 3].map((n) => message(0, value(n))));
      const spanning = append('t', [4, 5, 6, 7, 8].map((n) => message(0, value(n))));
      const after = append('t', [0, 1, 2, 3].map((n) => message(0, value(n))));
      broker.requests[0]!.release();
      await first;
      await tick();
      broker.requests[1]!.release();
      await tick();
      broker.requests[2]!.release(new Error('broker gone'));
      expect(await done).toEqual([1, 2, 3, 4].map((offset) => ({ partition: 0, offset })));
      await expect(spanning).rejects.toThrow('broker gone');
      await expect(after).rejects.toThrow('broker gone');
      expect(broker.requests).toHaveLength(3);
      const later = append('t', [message(0, value(9))]);
      await tick();
      broker.requests[3]!.release();
      expect(await later).toEqual([{ partition: 0, offset: 5 }]);
    });
  });
});
