/**
 * `redaction_retention_period` and `retention` (room message retention policies, MSC1763), with
 * Synapse's shapes and semantics: durations are milliseconds or a number with a unit (`500ms`, `30s`,
 * `5m`, `12h`, `7d`, `2w`, `1y`); a null redaction retention period keeps redacted content forever.
 */
import { Schema } from 'effect';
import { DEFAULT_PURGE_JOBS, type PurgeJob, type RetentionSettings } from '../../domain/app/retention/index.ts';

const UNITS: Readonly<Record<string, number>> = {
  ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000, y: 365 * 86_400_000,
};

/** Milliseconds of a duration, or a problem. */
export const parseDuration = (value: string | number): number | string => {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : 'must be a whole number of milliseconds';
  const match = /^(\d+)(ms|s|m|h|d|w|y)?$/.exec(value.trim());
  if (match === null) return `"${value}" is not a duration (e.g. 30s, 12h, 7d, 1y)`;
  return Number(match[1]) * UNITS[match[2] ?? 'ms']!;
};

export const Duration = Schema.Union([Schema.String, Schema.Number]).check(Schema.makeFilter((value: string | number) => {
  const parsed = parseDuration(value);
  return typeof parsed === 'string' ? parsed : undefined;
}));

/** A duration, or null / `off` (keep forever). */
export const RedactionRetentionSetting = Schema.Union([Schema.Literal('off'), Duration, Schema.Null]);

export const RetentionFile = Schema.Struct({
  enabled: Schema.optionalKey(Schema.Boolean),
  default_policy: Schema.optionalKey(Schema.Struct({
    min_lifetime: Schema.optionalKey(Schema.NullOr(Duration)),
    max_lifetime: Schema.optionalKey(Schema.NullOr(Duration)),
  })),
  allowed_lifetime_min: Schema.optionalKey(Schema.NullOr(Duration)),
  allowed_lifetime_max: Schema.optionalKey(Schema.NullOr(Duration)),
  purge_jobs: Schema.optionalKey(Schema.Array(Schema.Struct({
    shortest_max_lifetime: Schema.optionalKey(Schema.NullOr(Duration)),
    longest_max_lifetime: Schema.optionalKey(Schema.NullOr(Duration)),
    interval: Duration.check(Schema.makeFilter((value: string | number) => (parseDuration(value) === 0 ? 'must be longer than 0' : undefined))),
  }))),
});
export type RetentionFile = typeof RetentionFile.Type;

const ms = (value: string | number | null | undefined): number | null => (value === undefined || value === null ? null : parseDuration(value) as number);

/** Synapse's default: redacted content is kept seven days. */
export const DEFAULT_REDACTION_RETENTION_MS = 7 * 86_400_000;

export const redactionRetentionMs = (value: string | number | null | undefined): number | null =>
  (value === undefined ? DEFAULT_REDACTION_RETENTION_MS : value === 'off' ? null : ms(value));

/** Null unless `retention.enabled` (Synapse's default is off). */
export const retentionSettings = (file: RetentionFile | undefined): RetentionSettings | null => {
  if (file?.enabled !== true) return null;
  const jobs: PurgeJob[] | undefined = file.purge_jobs?.map((job) => ({
    shortestMaxLifetimeMs: ms(job.shortest_max_lifetime), longestMaxLifetimeMs: ms(job.longest_max_lifetime), intervalMs: ms(job.interval)!,
  }));
  return {
    defaultPolicy: { minLifetimeMs: ms(file.default_policy?.min_lifetime), maxLifetimeMs: ms(file.default_policy?.max_lifetime) },
    allowedLifetimeMinMs: ms(file.allowed_lifetime_min),
    allowedLifetimeMaxMs: ms(file.allowed_lifetime_max),
    purgeJobs: jobs === undefined || jobs.length === 0 ? DEFAULT_PURGE_JOBS : jobs,
  };
};
