/**
 * The idempotent producer appends go through, started afresh after any failed request.
 *
 * kafkajs rolls a failed request's sequence numbers back, yet a request can fail after the broker
 * wrote it (the answer lost with the connection, or late past the timeout). The next request would
 * reuse those numbers, and a broker that takes it for a retry of the written batch acknowledges it
 * with that batch's offsets and drops it: an append acknowledged and never written. A new producer
 * gets a new producer id, so nothing written before can be mistaken for its own. (Whether the
 * failed request was written is the caller's question either way: the room writer reloads the room
 * from the log after a failed append.)
 */
export interface ProducerLike {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
}

export interface ProducerSessions<P extends ProducerLike> {
  /** Runs `request` on the current producer (connecting one first when needed); a failure retires that producer. */
  run<T>(request: (producer: P) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** `first` is already connected; `create` makes each replacement (connected on first use). */
export const createProducerSessions = <P extends ProducerLike>(
  first: P, create: () => P, onRetired?: (error: unknown) => void,
): ProducerSessions<P> => {
  let current: Promise<P> | undefined = Promise.resolve(first);
  const retiring = new Set<Promise<void>>();

  const retire = (producer: P, error: unknown): void => {
    onRetired?.(error);
    const disconnecting: Promise<void> = producer.disconnect().catch(() => undefined).finally(() => retiring.delete(disconnecting));
    retiring.add(disconnecting);
  };

  const connected = (): Promise<P> => {
    current ??= (async () => {
      const producer = create();
      try {
        await producer.connect();
        return producer;
      } catch (error) {
        // Not connected: the next request tries a new one.
        current = undefined;
        void producer.disconnect().catch(() => undefined);
        throw error;
      }
    })();
    return current;
  };

  return {
    async run(request) {
      const session = connected();
      const producer = await session;
      try {
        return await request(producer);
      } catch (error) {
        // A replacement made meanwhile (requests overlapping a failure) is left alone.
        if (current === session) {
          current = undefined;
          retire(producer, error);
        }
        throw error;
      }
    },
    async close() {
      const last = current;
      current = undefined;
      await Promise.allSettled([...retiring, last?.then((producer) => producer.disconnect())]);
    },
  };
};
