/**
 * The kafkajs internals Strata relies on, in one place. kafkajs has no assign() and no way to
 * remove another member from a group, but the cluster object it builds for its own producers and
 * consumers (the client's private `createCluster`, so TLS, SASL and the socket factory configured
 * on the client apply) speaks every request Kafka has. kafkajs 2.2.x is the last release line;
 * partitionReader's and groupEviction's int tests cover what is used here.
 */
import { createRequire } from 'node:module';
import type { Kafka, KafkaMessage } from 'kafkajs';

export interface FetchPartitionResponse {
  partition: number;
  highWatermark: string;
  messages: Array<KafkaMessage & { isControlRecord?: boolean }>;
}

export interface InternalBroker {
  fetch(request: {
    maxWaitTime: number;
    minBytes: number;
    maxBytes: number;
    isolationLevel: number;
    topics: Array<{ topic: string; partitions: Array<{ partition: number; fetchOffset: string; maxBytes: number }> }>;
  }): Promise<{ responses: Array<{ topicName: string; partitions: FetchPartitionResponse[] }> }>;
  leaveGroup(request: { groupId: string; memberId: string }): Promise<unknown>;
}

export interface InternalCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  addTargetTopic(topic: string): Promise<void>;
  refreshMetadata(): Promise<void>;
  findLeaderForPartitions(topic: string, partitions: number[]): Record<string, number[]>;
  findBroker(options: { nodeId: string }): Promise<InternalBroker>;
  findGroupCoordinator(options: { groupId: string }): Promise<InternalBroker>;
}

type CreateCluster = (options: { metadataMaxAge?: number; allowAutoTopicCreation?: boolean }) => InternalCluster;

export const internalCluster = (kafka: Kafka): InternalCluster => {
  const symbol = Object.getOwnPropertySymbols(kafka).find((s) => s.description === 'private:Kafka:createCluster');
  const create = symbol === undefined ? undefined : (kafka as unknown as Record<symbol, unknown>)[symbol];
  if (typeof create !== 'function') throw new Error('kafkajs internals changed: Kafka#createCluster not found (kafkajs 2.2.x expected)');
  return (create as CreateCluster)({ allowAutoTopicCreation: false });
};

/** The fields of kafkajs's per-connection RequestQueue that its pending-request check reads. */
interface RequestQueueInternals {
  throttleCheckTimeoutId: ReturnType<typeof setTimeout> | null;
  throttledUntil: number;
  pending: unknown[];
  checkPendingRequests(): void;
  scheduleCheckPendingRequests(): void;
}

/** kafkajs's own interval between checks of a throttled queue (CHECK_PENDING_REQUESTS_INTERVAL). */
const PENDING_CHECK_INTERVAL_MS = 10;

let requestQueueMended = false;

/**
 * kafkajs 2.2.4 re-arms a timer after every response even when no request waits: with no
 * throttle its delay is `-1 - Date.now()`, which Node turns into 1 ms (and, from Node 24, a
 * TimeoutNegativeWarning), and each firing arms the next. Every broker connection of the process
 * then wakes the event loop a thousand times a second for nothing (tulios/kafkajs#1704, #1751;
 * never released). The check is only needed while requests wait: `push` schedules one when it
 * queues a request, and every response checks the queue at once. So the timer is armed only then,
 * at the throttle's end or kafkajs's own interval. Called before any client is made; once per process.
 */
export const mendRequestQueueTimer = (): void => {
  if (requestQueueMended) return;
  const require = createRequire(import.meta.url);
  const RequestQueue = require('kafkajs/src/network/requestQueue/index.js') as { prototype?: Partial<RequestQueueInternals> } | undefined;
  const prototype = RequestQueue?.prototype;
  if (typeof prototype?.scheduleCheckPendingRequests !== 'function' || typeof prototype.checkPendingRequests !== 'function') {
    throw new Error('kafkajs internals changed: RequestQueue#scheduleCheckPendingRequests not found (kafkajs 2.2.x expected)');
  }
  prototype.scheduleCheckPendingRequests = function scheduleCheckPendingRequests(this: RequestQueueInternals): void {
    if (this.throttleCheckTimeoutId || this.pending.length === 0) return;
    const untilUnthrottled = this.throttledUntil - Date.now();
    this.throttleCheckTimeoutId = setTimeout(() => {
      this.throttleCheckTimeoutId = null;
      this.checkPendingRequests();
    }, untilUnthrottled > 0 ? untilUnthrottled : PENDING_CHECK_INTERVAL_MS);
  };
  requestQueueMended = true;
};
