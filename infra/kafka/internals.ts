/**
 * The kafkajs internals Strata relies on, in one place. kafkajs has no assign() and no way to
 * remove another member from a group, but the cluster object it builds for its own producers and
 * consumers (the client's private `createCluster`, so TLS, SASL and the socket factory configured
 * on the client apply) speaks every request Kafka has. kafkajs 2.2.x is the last release line;
 * partitionReader's and groupEviction's int tests cover what is used here.
 */
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
