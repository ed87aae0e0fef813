export type { Projection, ProjectionLogger, ProjectionMetrics } from './projection.ts';
export { POSITIONS_SCHEMA } from './positions.ts';
export { rebuildProjection } from './rebuild.ts';
export type { RebuildOptions, RebuildProgress } from './rebuild.ts';
export { replayFromStart, type ReplayOptions } from './replay.ts';
export { startProjection } from './startProjection.ts';
export type { AppliedBatch, RunningProjection, StartProjectionOptions } from './startProjection.ts';
export { chDateTime, chIdentifier, chNumber, chString, formatDateTimeUtc } from './clickhouseLiterals.ts';
export { applyingAppended } from './appendedLocally.ts';
