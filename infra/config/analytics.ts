/**
 * The `analytics:` section: who may read the metadata warehouse besides server admins
 * (`analysts`, full user ids; STRATA_ANALYTICS_ANALYSTS, comma separated) and how many rows one
 * export may stream (`export_max_rows`, 10 million). Synapse has no analytics, so the names are Strata's.
 */
import { Schema } from 'effect';
import { parseUserId } from '../../domain/ids/index.ts';

export interface AnalyticsSettings {
  /** Users who may use the analyst API and dashboard, as well as every server admin. */
  readonly analysts: readonly string[];
  readonly exportMaxRows: number;
}

export const DEFAULT_EXPORT_MAX_ROWS = 10_000_000;
const MAX_EXPORT_MAX_ROWS = 1_000_000_000;

export const AnalyticsFile = Schema.Struct({
  analysts: Schema.optionalKey(Schema.Array(Schema.String.check(Schema.makeFilter((s: string) => {
    const parsed = parseUserId(s);
    return parsed.ok ? undefined : `must be a user id (@user:server): ${parsed.error}`;
  })))),
  export_max_rows: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThan(0), Schema.isLessThanOrEqualTo(MAX_EXPORT_MAX_ROWS))),
});

export type AnalyticsFile = typeof AnalyticsFile.Type;

export const ANALYTICS_ENV_KEYS = { STRATA_ANALYTICS_ANALYSTS: 'analysts' } as const;

export const analyticsEnvValue = (raw: string): string[] => raw.split(',').map((s) => s.trim()).filter((s) => s !== '');

export const analyticsSettings = (file: AnalyticsFile | undefined): AnalyticsSettings => ({
  analysts: [...new Set(file?.analysts ?? [])],
  exportMaxRows: file?.export_max_rows ?? DEFAULT_EXPORT_MAX_ROWS,
});
