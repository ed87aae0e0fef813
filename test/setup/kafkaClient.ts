/**
 * Every test process gets the Kafka client the server runs with: tests that make their own kafkajs
 * clients (admin clean-ups, subscription tests) would otherwise keep kafkajs's idle 1 ms timer and
 * its TimeoutNegativeWarning (infra/kafka/internals.ts).
 */
import { mendRequestQueueTimer } from '../../infra/kafka/index.ts';

mendRequestQueueTimer();
