/**
 * Erasure wired to its adapters: the sealed room log, the content key store, and the sweepers
 * (redacted content after `redaction_retention_period`, room retention purge jobs) on timers.
 */
import type { Logger } from 'pino';
import {
  eraseUser, runPurgeJob, sweepRedactedContent, type ErasureResult, type PurgeJob, type RetentionSettings,
} from '../../domain/app/retention/index.ts';
import type { ContentKeyStore, ErasureReadModel, RoomLog, SqlDatabase } from '../../domain/index.ts';
import type { RecentEvents } from '../../projections/rooms/index.ts';
import { withSealedContent } from './sealedLog.ts';
import { cachingContentKeys, createSqlContentKeyStore, ensureContentKeysSchema } from './sqlContentKeys.ts';
import { createSqlErasureReadModel, ensureErasureIndexes } from './sqlErasure.ts';

/** How often redacted content past its retention period is looked for (Synapse: every 5 minutes). */
const REDACTION_SWEEP_INTERVAL_MS = 5 * 60_000;

export interface ErasureOptions {
  readonly db: SqlDatabase;
  /** Held newest events, forgotten where erasure rewrites rows (projections/rooms/recentEvents.ts). */
  readonly recentEvents?: Pick<RecentEvents, 'forgetRoom' | 'forgetAll'>;
  /** The topic whose records are sealed (the room events topic). */
  readonly topic: string;
  readonly redactionRetentionMs: number | null;
  /** Room retention policies; null when `retention.enabled` is off. */
  readonly retention: RetentionSettings | null;
  readonly now: () => number;
  readonly logger: Logger;
}

export interface Erasure {
  readonly keys: ContentKeyStore;
  readonly readModel: ErasureReadModel;
  /** `log` sealing `topic`'s content on append and opening it on read. */
  seal<L extends RoomLog>(log: L): L;
  eraseUser(userId: string): Promise<ErasureResult>;
  sweepRedactions(): Promise<number>;
  runPurgeJob(job: PurgeJob): Promise<number>;
  /** Starts the timers (after the rooms read model's tables exist); answers how to stop them. */
  startSweepers(): Promise<() => Promise<void>>;
}

export const createErasure = async (options: ErasureOptions): Promise<Erasure> => {
  const { db, logger, now } = options;
  await ensureContentKeysSchema(db);
  const keys = cachingContentKeys(createSqlContentKeyStore(db, now));
  const readModel = createSqlErasureReadModel(db, options.recentEvents);
  const sweepRedactions = () => sweepRedactedContent({ keys, readModel, now, retentionMs: options.redactionRetentionMs });
  const purge = (job: PurgeJob) => runPurgeJob({ keys, readModel, now, settings: options.retention! }, job);

  /** Runs `task` every `intervalMs`, never two at once; failures are logged and retried next time. */
  const every = (name: string, intervalMs: number, task: () => Promise<number>) => {
    let running: Promise<void> = Promise.resolve();
    const timer = setInterval(() => {
      running = running.then(task).then(
        (count) => { if (count > 0) logger.info({ task: name, count }, `${name}: ${count}`); },
        (error: unknown) => { logger.error({ err: error, task: name }, `${name} failed`); },
      );
    }, intervalMs);
    timer.unref();
    return async () => {
      clearInterval(timer);
      await running;
    };
  };

  return {
    keys,
    readModel,
    seal: (log) => withSealedContent(log, { topic: options.topic, keys }),
    eraseUser: (userId) => eraseUser({ keys, readModel }, userId),
    sweepRedactions,
    runPurgeJob: purge,
    async startSweepers() {
      await ensureErasureIndexes(db);
      const stops = [
        ...(options.redactionRetentionMs === null ? [] : [every('redacted content destroyed', REDACTION_SWEEP_INTERVAL_MS, sweepRedactions)]),
        ...(options.retention === null ? [] : options.retention.purgeJobs.map((job) => every('retention purge', job.intervalMs, () => purge(job)))),
      ];
      return async () => { for (const stop of stops) await stop(); };
    },
  };
};
