/**
 * Group commit for Kafka appends. The producer keeps one request in flight (so concurrent callers
 * keep their order per partition); appends that arrive while a request is in flight wait and then
 * go out together, instead of one round trip each. Each caller still gets its own records'
 * positions, in its order.
 *
 * A produce request carries one record batch per topic partition, and the broker refuses a batch
 * larger than the topic's max.message.bytes (MESSAGE_TOO_LARGE), failing the whole request. So the
 * waiting appends are cut into several requests, each partition's batch within the topic's byte
 * budget, sent one after another (order per partition kept; a large append may span requests). A
 * failed request fails every append it carried and every append after it in the same run, which is
 * not sent: an append is never written with a gap. A record that alone exceeds the budget fails
 * its own append only.
 */
import type { IHeaders, Message } from 'kafkajs';
import { createGroupCommit } from '../../domain/index.ts';
import type { AppendedPosition } from '../../domain/ports/index.ts';

export interface OutgoingMessage extends Message {
  readonly partition: number;
}

export type Acknowledgement = { topic: string; partition: number; baseOffset: number };

/** One produce request: messages per topic in; the base offset of each topic partition's run out. */
export type SendRequest = (byTopic: ReadonlyMap<string, OutgoingMessage[]>) => Promise<Acknowledgement[]>;

/** Appends `messages` to `topic` in the next request; resolves with each message's position. */
export type BatchedAppend = (topic: string, messages: readonly OutgoingMessage[]) => Promise<AppendedPosition[]>;

export interface AppendBatcherOptions {
  /** The largest record batch `topic` accepts, in bytes: its max.message.bytes. */
  readonly maxBatchBytes: (topic: string) => number;
  /** Bound on a whole request's records (the broker's socket.request.max.bytes is 100 MiB). */
  readonly maxRequestBytes?: number;
}

/** Kafka's default message.max.bytes / max.message.bytes, the limit assumed when none is known. */
export const DEFAULT_MAX_BATCH_BYTES = 1_048_588;
const DEFAULT_MAX_REQUEST_BYTES = 16 << 20;
/** A v2 record batch's header: base offset to record count. */
const BATCH_OVERHEAD_BYTES = 61;
/** A record's framing at most: length, attributes, timestamp and offset deltas, key and value lengths, header count. */
const RECORD_OVERHEAD_BYTES = 5 + 1 + 10 + 5 + 5 + 5 + 5;
/** A header's two length prefixes at most. */
const HEADER_OVERHEAD_BYTES = 10;

const byteLength = (data: Buffer | string | null | undefined): number =>
  data === null || data === undefined ? 0 : typeof data === 'string' ? Buffer.byteLength(data) : data.length;

const headerBytes = (headers: IHeaders | undefined): number => {
  let size = 0;
  for (const [name, value] of Object.entries(headers ?? {})) {
    for (const item of Array.isArray(value) ? value : [value]) size += HEADER_OVERHEAD_BYTES + byteLength(name) + byteLength(item);
  }
  return size;
};

/** An upper bound of the bytes `message` takes in an uncompressed v2 record batch. */
export const recordBytes = (message: Message): number =>
  RECORD_OVERHEAD_BYTES + byteLength(message.key) + byteLength(message.value) + headerBytes(message.headers);

interface Append {
  readonly topic: string;
  readonly messages: readonly OutgoingMessage[];
}

/** Where a request's message comes from: the append's index in the run and the message's in it. */
interface Origin {
  readonly append: number;
  readonly message: number;
}

interface Request {
  readonly byTopic: Map<string, OutgoingMessage[]>;
  readonly origins: Map<string, Origin[]>;
  /** Record bytes per topic partition so far, keyed `partition\0topic`. */
  readonly batchBytes: Map<string, number>;
  requestBytes: number;
}

const newRequest = (): Request => ({ byTopic: new Map(), origins: new Map(), batchBytes: new Map(), requestBytes: 0 });
const partitionKey = (topic: string, partition: number): string => `${partition}\u0000${topic}`;

export const createAppendBatcher = (send: SendRequest, options: AppendBatcherOptions): BatchedAppend => {
  const maxRequestBytes = options.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES;

  /** Cuts the run's appends into requests; an append holding a record that cannot fit any batch fails alone. */
  const plan = (batch: readonly Append[], results: (AppendedPosition[] | Error)[]): Request[] => {
    const requests = [newRequest()];
    batch.forEach(({ topic, messages }, appendIndex) => {
      const budget = Math.min(options.maxBatchBytes(topic), maxRequestBytes) - BATCH_OVERHEAD_BYTES;
      const sizes = messages.map(recordBytes);
      const largest = sizes.reduce((max, size) => Math.max(max, size), 0);
      if (largest > budget) {
        // The room writer bounds an event at 64 KiB (the spec's PDU limit), far below any broker
        // default, so only a misconfigured topic gets here.
        results[appendIndex] = new Error(`kafka: a ${largest}-byte record exceeds ${topic}'s batch limit of ${budget + BATCH_OVERHEAD_BYTES} bytes (max.message.bytes)`);
        return;
      }
      messages.forEach((message, messageIndex) => {
        const key = partitionKey(topic, message.partition);
        let request = requests[requests.length - 1]!;
        const size = sizes[messageIndex]!;
        if ((request.batchBytes.get(key) ?? 0) + size > budget || request.requestBytes + size > maxRequestBytes) {
          requests.push((request = newRequest()));
        }
        request.batchBytes.set(key, (request.batchBytes.get(key) ?? 0) + size);
        request.requestBytes += size;
        let queued = request.byTopic.get(topic);
        if (queued === undefined) request.byTopic.set(topic, (queued = []));
        queued.push(message);
        let origins = request.origins.get(topic);
        if (origins === undefined) request.origins.set(topic, (origins = []));
        origins.push({ append: appendIndex, message: messageIndex });
      });
    });
    return requests.filter((request) => request.requestBytes > 0);
  };

  const flush = async (batch: readonly Append[]): Promise<(AppendedPosition[] | Error)[]> => {
    const results: (AppendedPosition[] | Error)[] = batch.map(({ messages }) => new Array<AppendedPosition>(messages.length));
    const requests = plan(batch, results);
    for (const [index, request] of requests.entries()) {
      let acknowledged: Acknowledgement[];
      try {
        acknowledged = await send(request.byTopic);
      } catch (error) {
        // Appends carried by this request or a later one are not (all) written: fail them.
        const pending = new Set(requests.slice(index).flatMap((later) => [...later.origins.values()].flat().map((origin) => origin.append)));
        for (const append of pending) results[append] = error instanceof Error ? error : new Error(String(error));
        break;
      }
      // One request makes one record batch per topic partition, so its records have consecutive
      // offsets in the order they were queued.
      const next = new Map<string, number>();
      for (const { topic, partition, baseOffset } of acknowledged) next.set(partitionKey(topic, partition), baseOffset);
      for (const [topic, messages] of request.byTopic) {
        const origins = request.origins.get(topic)!;
        messages.forEach(({ partition }, position) => {
          const { append, message } = origins[position]!;
          const positions = results[append];
          if (positions instanceof Error) return;
          const key = partitionKey(topic, partition);
          const offset = next.get(key);
          if (offset === undefined) {
            results[append] = new Error(`kafka: no acknowledgement for ${topic}/${partition}`);
            return;
          }
          next.set(key, offset + 1);
          positions[message] = { partition, offset };
        });
      }
    }
    return results;
  };

  // Each room appends once its previous append is acknowledged: the request after an answer waits
  // until the appends that answer released have come in (promise steps, no I/O), so every room
  // rides every request instead of the rooms falling into groups a round trip apart.
  const requests = createGroupCommit(flush, { between: (next) => process.nextTick(next) });
  return async (topic, messages) => {
    const positions = await requests.add({ topic, messages });
    if (positions instanceof Error) throw positions;
    return positions;
  };
};
