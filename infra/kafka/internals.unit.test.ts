import { createRequire } from 'node:module';
import { afterEach, describe, expect, it } from 'vitest';
import { mendRequestQueueTimer } from './internals.ts';

/** kafkajs's own per-connection queue, driven without a broker: requests are answered by hand. */
interface Queue {
  throttleCheckTimeoutId: ReturnType<typeof setTimeout> | null;
  throttledUntil: number;
  pending: unknown[];
  push(request: { entry: object; expectResponse: boolean; sendRequest: () => void }): void;
  fulfillRequest(response: { correlationId: number; payload: Buffer | null; size: number }): void;
  destroy(): void;
}
const RequestQueue = createRequire(import.meta.url)('kafkajs/src/network/requestQueue/index.js') as new (options: object) => Queue;
const silent = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

const queues: Queue[] = [];
const newQueue = (): Queue => {
  const queue = new RequestQueue({ maxInFlightRequests: 1, requestTimeout: 30_000, enforceRequestTimeout: false, clientId: 'test', broker: 'b:1', logger: silent });
  queues.push(queue);
  return queue;
};
const request = (correlationId: number, sent: number[]) => {
  const answered: number[] = [];
  return {
    answered,
    pushed: {
      entry: { correlationId, apiName: 'Test', apiKey: 0, apiVersion: 0, resolve: () => answered.push(correlationId), reject: () => {} },
      expectResponse: true,
      sendRequest: () => sent.push(correlationId),
    },
  };
};

afterEach(() => {
  for (const queue of queues.splice(0)) queue.destroy();
});

describe('kafkajs request queue timer, mended', () => {
  mendRequestQueueTimer();

  it('arms no timer once a response leaves nothing waiting (kafkajs re-armed one every millisecond)', () => {
    const queue = newQueue();
    const sent: number[] = [];
    const only = request(1, sent);
    queue.push(only.pushed);
    expect(sent).toEqual([1]);
    queue.fulfillRequest({ correlationId: 1, payload: null, size: 0 });
    expect(only.answered).toEqual([1]);
    expect(queue.throttleCheckTimeoutId).toBeNull();
  });

  it('still sends a request that waited for the one in flight, as soon as that one is answered', async () => {
    const queue = newQueue();
    const sent: number[] = [];
    const first = request(1, sent);
    const second = request(2, sent);
    queue.push(first.pushed);
    queue.push(second.pushed);
    expect(sent).toEqual([1]);
    expect(queue.pending).toHaveLength(1);
    queue.fulfillRequest({ correlationId: 1, payload: null, size: 0 });
    expect(sent).toEqual([1, 2]);
    queue.fulfillRequest({ correlationId: 2, payload: null, size: 0 });
    expect(second.answered).toEqual([2]);
    // The check armed while the second waited fires once and arms no other.
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(queue.throttleCheckTimeoutId).toBeNull();
  });

  it('sends a request held back by a broker throttle once the throttle ends', async () => {
    const queue = newQueue();
    const sent: number[] = [];
    queue.throttledUntil = Date.now() + 30;
    queue.push(request(1, sent).pushed);
    expect(sent).toEqual([]);
    expect(queue.throttleCheckTimeoutId).not.toBeNull();
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(sent).toEqual([1]);
  });

  it('is applied once however often it is called', () => {
    const prototype = (RequestQueue as unknown as { prototype: { scheduleCheckPendingRequests: unknown } }).prototype;
    const mended = prototype.scheduleCheckPendingRequests;
    mendRequestQueueTimer();
    expect(prototype.scheduleCheckPendingRequests).toBe(mended);
  });
});
