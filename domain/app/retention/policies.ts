/**
 * Room message retention (MSC1763, as Synapse implements it): a room's `m.room.retention` state
 * event says how long its messages live (`max_lifetime`, ms); the server has a default policy for
 * rooms without one and bounds every room's value. Purge jobs delete the events older than a room's
 * effective max lifetime from the read models and destroy their content keys. State events are
 * never purged (the room needs them), nor the room's newest events.
 */
import type { JsonObject } from '../../json.ts';
import type { ContentKeyStore, ErasureReadModel } from '../../ports/contentKeys.ts';

export interface RetentionPolicy {
  readonly minLifetimeMs: number | null;
  readonly maxLifetimeMs: number | null;
}

/** One purge job: the rooms whose effective max lifetime is in (shortest, longest], every `intervalMs`. */
export interface PurgeJob {
  readonly shortestMaxLifetimeMs: number | null;
  readonly longestMaxLifetimeMs: number | null;
  readonly intervalMs: number;
}

export interface RetentionSettings {
  readonly defaultPolicy: RetentionPolicy;
  readonly allowedLifetimeMinMs: number | null;
  readonly allowedLifetimeMaxMs: number | null;
  readonly purgeJobs: readonly PurgeJob[];
}

/** Synapse's job when `purge_jobs` is not configured: every room, once a day. */
export const DEFAULT_PURGE_JOBS: readonly PurgeJob[] = [{ shortestMaxLifetimeMs: null, longestMaxLifetimeMs: null, intervalMs: 86_400_000 }];

const lifetime = (value: unknown): number | null =>
  (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : null);

/** The room's own policy: integer fields of its `m.room.retention` content, others ignored. */
export const roomPolicyOf = (content: JsonObject | null): RetentionPolicy => ({
  minLifetimeMs: lifetime(content?.min_lifetime),
  maxLifetimeMs: lifetime(content?.max_lifetime),
});

/**
 * The max lifetime purges use: the room's, else the server default, then clamped to the allowed
 * range (Synapse's purge_history_for_rooms_in_range). Null: the room's messages live forever.
 */
export const effectiveMaxLifetime = (settings: RetentionSettings, content: JsonObject | null): number | null => {
  const max = roomPolicyOf(content).maxLifetimeMs ?? settings.defaultPolicy.maxLifetimeMs;
  if (max === null) return null;
  if (settings.allowedLifetimeMinMs !== null && max < settings.allowedLifetimeMinMs) return settings.allowedLifetimeMinMs;
  if (settings.allowedLifetimeMaxMs !== null && max > settings.allowedLifetimeMaxMs) return settings.allowedLifetimeMaxMs;
  return max;
};

export const jobCovers = (job: PurgeJob, maxLifetimeMs: number): boolean =>
  (job.shortestMaxLifetimeMs === null || maxLifetimeMs > job.shortestMaxLifetimeMs)
  && (job.longestMaxLifetimeMs === null || maxLifetimeMs <= job.longestMaxLifetimeMs);

export interface PurgeContext {
  readonly keys: ContentKeyStore;
  readonly readModel: ErasureReadModel;
  readonly settings: RetentionSettings;
  readonly now: () => number;
}

const PURGE_BATCH = 500;

/** Runs one purge job over every room it covers; answers how many events were purged. */
export const runPurgeJob = async (ctx: PurgeContext, job: PurgeJob): Promise<number> => {
  let purged = 0;
  for (const { roomId, content } of await ctx.readModel.retentionPolicies()) {
    const max = effectiveMaxLifetime(ctx.settings, content as JsonObject | null);
    if (max === null || !jobCovers(job, max)) continue;
    const cutoff = ctx.now() - max;
    for (;;) {
      const eventIds = await ctx.readModel.purgeBefore(roomId, cutoff, PURGE_BATCH);
      if (eventIds.length === 0) break;
      await ctx.keys.destroyForEvents(eventIds);
      purged += eventIds.length;
    }
  }
  return purged;
};
