/**
 * The log port: an append-only, partitioned, durable log (Kafka in production, the embedded log by
 * default). Records with the same key always land in the same partition, in append order, so one
 * partition owns the order of one room.
 */

/** A JSON value as stored in the log. Adapters serialise it as UTF-8 JSON. */
export type LogValue = null | boolean | number | string | LogValue[] | { [key: string]: LogValue };

export interface LogRecordToAppend {
  /** Partitioning key, e.g. a room id. */
  readonly key: string;
  readonly value: LogValue;
  /** Optional small string headers (record type, schema version, trace id). */
  readonly headers?: Readonly<Record<string, string>>;
}

export interface LogEntry {
  readonly topic: string;
  readonly partition: number;
  /** Position inside the partition, starting at 0 and increasing (Kafka transaction markers may skip offsets). */
  readonly offset: number;
  readonly key: string;
  readonly value: LogValue;
  readonly headers: Readonly<Record<string, string>>;
  /** Milliseconds since the epoch when the log accepted the record. */
  readonly timestamp: number;
}

export interface AppendedPosition {
  readonly partition: number;
  readonly offset: number;
  /**
   * Headers the log added to the record on its way (a decorator's: the sealed content's key id),
   * which its entry is delivered with besides the record's own.
   */
  readonly headers?: Readonly<Record<string, string>>;
}

/** A consumer's batch: entries of one partition, in offset order. */
export interface LogBatch {
  readonly topic: string;
  readonly partition: number;
  readonly entries: readonly LogEntry[];
  /** Offset one past the newest record in the partition when the batch was read (for lag). */
  readonly highWatermark: number;
}

export interface ConsumerHandlers {
  /**
   * Called when this member is given partitions. Returns, for each partition, the offset to start
   * reading from (a projection answers with the position it stored with its rows).
   */
  onAssigned(topic: string, partitions: readonly number[]): Promise<ReadonlyMap<number, number>>;
  /** Called when partitions are taken away (rebalance or stop); in-flight batches have finished. */
  onRevoked(topic: string, partitions: readonly number[]): Promise<void>;
  /**
   * One batch at a time per partition. When it resolves, the batch is done; if it throws, the
   * consumer stops and `Subscription.done` rejects with the error (no record is skipped).
   */
  onBatch(batch: LogBatch): Promise<void>;
}

export interface Subscription {
  /** Stops consuming after the batch in flight; resolves once onRevoked has run. */
  stop(): Promise<void>;
  /** Settles when the subscription ends: resolves on stop(), rejects on a handler error. */
  readonly done: Promise<void>;
}

export interface SubscribeOptions {
  /** Consumer group: members of one group share the topic's partitions between them. */
  readonly group: string;
  readonly topic: string;
  /** Upper bound on entries per batch. */
  readonly maxBatchSize?: number;
  readonly latency?: ConsumerLatency;
}

/**
 * How late a consumer may take records, so the log can serve it fewer, larger fetches. `prompt`
 * (default): as soon as they are appended. `soon`: up to about 50 ms late — for consumers that
 * deliver to other servers, where a few tens of milliseconds are lost in the network anyway, or
 * whose readers wait for them a moment (search). `background`: up to about half a second late, for
 * work nobody waits on (push, analytics) and for a read model that gets this process's appends
 * handed to it at once (the rooms projection, appendedLocally.ts).
 */
export type ConsumerLatency = 'prompt' | 'soon' | 'background';

/** How long each latency lets a log hold a consumer's records back to gather more of them. */
export const CONSUMER_LATENESS_MS: Readonly<Record<ConsumerLatency, number>> = { prompt: 0, soon: 50, background: 500 };

export interface AppendOptions {
  /**
   * Append only once this settles, and fail with it if it rejects. A writer that pipelines its
   * appends hands each one the append before it: whatever the log does ahead of the write (storing
   * content keys, erasure.md) overlaps the previous append, while records never land out of order
   * or on top of records that were not written.
   */
  readonly after?: Promise<unknown>;
}

export interface RoomLog {
  /** Creates the topic if missing (idempotent). Partition count is fixed at creation. */
  ensureTopic(topic: string, partitions: number): Promise<void>;
  partitionCount(topic: string): Promise<number>;
  /** The partition a key maps to (stable for a topic's lifetime). */
  partitionFor(topic: string, key: string): Promise<number>;
  /**
   * Appends records durably; resolves once they are acknowledged. Records are appended in array
   * order, and records with equal keys keep that order inside their partition.
   */
  append(topic: string, records: readonly LogRecordToAppend[], options?: AppendOptions): Promise<AppendedPosition[]>;
  /** Reads up to `max` entries of one partition starting at `fromOffset` (no group involved). */
  read(topic: string, partition: number, fromOffset: number, max: number): Promise<LogEntry[]>;
  /** Offset one past the newest record of a partition. */
  endOffset(topic: string, partition: number): Promise<number>;
  subscribe(options: SubscribeOptions, handlers: ConsumerHandlers): Promise<Subscription>;
  close(): Promise<void>;
}
