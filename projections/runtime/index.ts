export type { Projection, ProjectionLogger, ProjectionMetrics } from './projection.ts';
export { POSITIONS_SCHEMA, joinRowStatements } from './positions.ts';
export { rebuildProjection } from './rebuild.ts';
export { rebuildClickHouseProjection, type ClickHouseRebuildOptions } from './clickhouseRebuild.ts';
export type { RebuildOptions, RebuildProgress } from './rebuild.ts';
export { replayFromStart, type ReplayOptions } from './replay.ts';
export { startProjection } from './startProjection.ts';
export type { AppliedBatch, RunningProjection, StartProjectionOptions } from './startProjection.ts';
export { chDateTime, chIdentifier, chNumber, chString, formatDateTimeUtc } from './clickhouseLiterals.ts';
export { applyingAppended } from './appendedLocally.ts';
export { caughtUpWith } from './caughtUp.ts';
export { consumeWithPositions, type ConsumeOptions, type RunningConsumer } from './consume.ts';
export { createSupervisor, ConsumerStoppedError } from './supervisor.ts';
export type { ConsumerState, ConsumerStatus, ConsumerSupervision, RetryVerdict, Supervisor, SupervisorMetrics, SupervisorOptions } from './supervisor.ts';
export {
  DEFAULT_RETRY_POLICY, LogContractError, RecordFailure, backoffDelay, classifyFailure, retryDecision,
  type FailureKind, type RecordPosition, type RetryDecision, type RetryPolicy,
} from './failures.ts';
export { createRoomLogContract, type LogContract, type Violation } from './roomLogContract.ts';
export { refusingAppendsWhileStopped, waitWhileRunning } from './failFast.ts';
export { senderPositions, type SenderPositions, type SenderReset } from './senderPositions.ts';
export {
  consumeAsSender, POSITION_SAVE_MS, PROJECTION_WAIT_MS, roomsProjectionApplied, type ConsumeAsSenderOptions, type SenderLogger,
} from './senderConsumer.ts';
