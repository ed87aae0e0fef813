export { eraseUser, sweepRedactedContent, type ErasureContext, type ErasureResult, type RedactionSweepContext } from './erasure.ts';
export {
  DEFAULT_PURGE_JOBS, effectiveMaxLifetime, jobCovers, roomPolicyOf, runPurgeJob,
  type PurgeContext, type PurgeJob, type RetentionPolicy, type RetentionSettings,
} from './policies.ts';
