import { describe, expect, it } from 'vitest';
import { createAppendBatcher, type OutgoingMessage, type SendRequest } from './appendBatcher.ts';

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

describe('the Kafka append batcher', () => {
  it('sends the first append at once and the appends made meanwhile together, each with its own positions', async () => {
    const broker = fakeBroker();
    const append = createAppendBatcher(broker.send);
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

  it('fails every append of a failed request and keeps serving later ones', async () => {
    const broker = fakeBroker();
    const append = createAppendBatcher(broker.send);
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
    expect(broker.requests).toHaveLength(3);
    broker.requests[2]!.release();
    expect(await fourth).toEqual([{ partition: 0, offset: 1 }]);
  });

  it('rejects an append whose partition the broker did not acknowledge', async () => {
    const append = createAppendBatcher(async () => []);
    await expect(append('t', [message(3, 'a')])).rejects.toThrow('no acknowledgement for t/3');
  });
});
