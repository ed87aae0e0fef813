/**
 * Group commit for Kafka appends. The producer keeps one request in flight (so concurrent callers
 * keep their order per partition); appends that arrive while a request is in flight wait and then
 * go out together in the next request, instead of one round trip each. Each caller still gets its
 * own records' positions, in its order; a failed request fails every append it carried.
 */
import type { Message } from 'kafkajs';
import { createGroupCommit } from '../../domain/index.ts';
import type { AppendedPosition } from '../../domain/ports/index.ts';

export interface OutgoingMessage extends Message {
  readonly partition: number;
}

/** One produce request: messages per topic in; the base offset of each topic partition's run out. */
export type SendRequest = (byTopic: ReadonlyMap<string, OutgoingMessage[]>) => Promise<{ topic: string; partition: number; baseOffset: number }[]>;

/** Appends `messages` to `topic` in the next request; resolves with each message's position. */
export type BatchedAppend = (topic: string, messages: readonly OutgoingMessage[]) => Promise<AppendedPosition[]>;

interface Append {
  readonly topic: string;
  readonly messages: readonly OutgoingMessage[];
}

export const createAppendBatcher = (send: SendRequest): BatchedAppend => {
  const requests = createGroupCommit(async (batch: readonly Append[]): Promise<(AppendedPosition[] | Error)[]> => {
    const byTopic = new Map<string, OutgoingMessage[]>();
    for (const { topic, messages } of batch) {
      let queued = byTopic.get(topic);
      if (queued === undefined) byTopic.set(topic, (queued = []));
      queued.push(...messages);
    }
    const acknowledged = await send(byTopic);
    // One request makes one record batch per topic partition, so its records have consecutive
    // offsets in the order they were queued.
    const next = new Map<string, number>();
    for (const { topic, partition, baseOffset } of acknowledged) next.set(`${partition}\u0000${topic}`, baseOffset);
    return batch.map(({ topic, messages }) => {
      const positions: AppendedPosition[] = [];
      for (const { partition } of messages) {
        const key = `${partition}\u0000${topic}`;
        const offset = next.get(key);
        if (offset === undefined) return new Error(`kafka: no acknowledgement for ${topic}/${partition}`);
        next.set(key, offset + 1);
        positions.push({ partition, offset });
      }
      return positions;
    });
  });
  return async (topic, messages) => {
    const positions = await requests.add({ topic, messages });
    if (positions instanceof Error) throw positions;
    return positions;
  };
};
