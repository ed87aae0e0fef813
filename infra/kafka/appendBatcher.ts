/**
 * Group commit for Kafka appends. The producer keeps one request in flight (so concurrent callers
 * keep their order per partition); appends that arrive while a request is in flight wait and then
 * go out together in the next request, instead of one round trip each. Each caller still gets its
 * own records' positions, in its order; a failed request fails every append it carried.
 */
import type { Message } from 'kafkajs';
import type { AppendedPosition } from '../../domain/ports/index.ts';

export interface OutgoingMessage extends Message {
  readonly partition: number;
}

/** One produce request: messages per topic in; the base offset of each topic partition's run out. */
export type SendRequest = (byTopic: ReadonlyMap<string, OutgoingMessage[]>) => Promise<{ topic: string; partition: number; baseOffset: number }[]>;

interface Pending {
  readonly topic: string;
  readonly messages: readonly OutgoingMessage[];
  readonly resolve: (positions: AppendedPosition[]) => void;
  readonly reject: (error: unknown) => void;
}

/** Appends `messages` to `topic` in the next request; resolves with each message's position. */
export type BatchedAppend = (topic: string, messages: readonly OutgoingMessage[]) => Promise<AppendedPosition[]>;

export const createAppendBatcher = (send: SendRequest): BatchedAppend => {
  let queue: Pending[] = [];
  let sending = false;

  const flush = async (): Promise<void> => {
    sending = true;
    while (queue.length > 0) {
      const batch = queue;
      queue = [];
      const byTopic = new Map<string, OutgoingMessage[]>();
      for (const pending of batch) {
        let messages = byTopic.get(pending.topic);
        if (messages === undefined) byTopic.set(pending.topic, (messages = []));
        messages.push(...pending.messages);
      }
      let acknowledged;
      try {
        acknowledged = await send(byTopic);
      } catch (error) {
        for (const pending of batch) pending.reject(error);
        continue;
      }
      // One request makes one record batch per topic partition, so its records have consecutive
      // offsets in the order they were queued.
      const next = new Map<string, number>();
      for (const { topic, partition, baseOffset } of acknowledged) next.set(`${partition}\u0000${topic}`, baseOffset);
      for (const pending of batch) {
        try {
          pending.resolve(pending.messages.map(({ partition }) => {
            const key = `${partition}\u0000${pending.topic}`;
            const offset = next.get(key);
            if (offset === undefined) throw new Error(`kafka: no acknowledgement for ${pending.topic}/${partition}`);
            next.set(key, offset + 1);
            return { partition, offset };
          }));
        } catch (error) {
          pending.reject(error);
        }
      }
    }
    sending = false;
  };

  return (topic, messages) => new Promise<AppendedPosition[]>((resolve, reject) => {
    queue.push({ topic, messages, resolve, reject });
    if (!sending) void flush();
  });
};
