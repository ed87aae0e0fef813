export { createKafkaLog, type KafkaLog, type KafkaLogLogger, type KafkaLogOptions } from './kafkaLog.ts';
export type { KafkaConsumerTuning } from './kafkaSubscription.ts';
export { withNamespace } from './namespace.ts';
export { mendRequestQueueTimer } from './internals.ts';
