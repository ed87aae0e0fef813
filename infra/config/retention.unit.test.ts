import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, type ReadConfigFile } from './index.ts';
import { parseDuration } from './retention.ts';
import { stringify } from 'yaml';

const DAY = 86_400_000;
const withFile = (file: Record<string, unknown>) => {
  const read: ReadConfigFile = () => stringify(file);
  return loadConfig({ STRATA_CONFIG: 'strata.yaml' }, read);
};
const noFile: ReadConfigFile = () => { throw new Error('no file'); };

describe('durations', () => {
  it('read like Synapse: milliseconds or a number with a unit', () => {
    expect(parseDuration(1500)).toBe(1500);
    expect(parseDuration('1500')).toBe(1500);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('5m')).toBe(300_000);
    expect(parseDuration('12h')).toBe(12 * 3_600_000);
    expect(parseDuration('7d')).toBe(7 * DAY);
    expect(parseDuration('2w')).toBe(14 * DAY);
    expect(parseDuration('1y')).toBe(365 * DAY);
    expect(parseDuration('7 days')).toContain('not a duration');
    expect(parseDuration(-1)).toContain('whole number');
  });
});

describe('redaction_retention_period', () => {
  it('defaults to seven days; null or off keeps redacted content forever', () => {
    expect(loadConfig({}, noFile).redactionRetentionMs).toBe(7 * DAY);
    expect(withFile({ redaction_retention_period: '1d' }).redactionRetentionMs).toBe(DAY);
    expect(withFile({ redaction_retention_period: null }).redactionRetentionMs).toBeNull();
    expect(withFile({ redaction_retention_period: 'off' }).redactionRetentionMs).toBeNull();
    expect(loadConfig({ STRATA_REDACTION_RETENTION_PERIOD: '3h' }, noFile).redactionRetentionMs).toBe(3 * 3_600_000);
    expect(loadConfig({ STRATA_REDACTION_RETENTION_PERIOD: 'null' }, noFile).redactionRetentionMs).toBeNull();
    expect(loadConfig({ STRATA_REDACTION_RETENTION_PERIOD: 'off' }, noFile).redactionRetentionMs).toBeNull();
  });

  it('refuses what is not a duration, naming the variable', () => {
    let error: unknown;
    try {
      loadConfig({ STRATA_REDACTION_RETENTION_PERIOD: 'soon' }, noFile);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain('redaction_retention_period (from STRATA_REDACTION_RETENTION_PERIOD)');
  });
});

describe('retention', () => {
  it('is off unless enabled', () => {
    expect(loadConfig({}, noFile).retention).toBeNull();
    expect(withFile({ retention: { default_policy: { max_lifetime: '1d' } } }).retention).toBeNull();
  });

  it('reads the default policy, the allowed range and the purge jobs (one daily job when none is given)', () => {
    expect(withFile({
      retention: { enabled: true, default_policy: { min_lifetime: '1d', max_lifetime: '1y' }, allowed_lifetime_min: '1d', allowed_lifetime_max: '1y' },
    }).retention).toEqual({
      defaultPolicy: { minLifetimeMs: DAY, maxLifetimeMs: 365 * DAY },
      allowedLifetimeMinMs: DAY,
      allowedLifetimeMaxMs: 365 * DAY,
      purgeJobs: [{ shortestMaxLifetimeMs: null, longestMaxLifetimeMs: null, intervalMs: DAY }],
    });
    expect(withFile({
      retention: { enabled: true, purge_jobs: [{ longest_max_lifetime: '3d', interval: '12h' }, { shortest_max_lifetime: '3d', interval: '1d' }] },
    }).retention?.purgeJobs).toEqual([
      { shortestMaxLifetimeMs: null, longestMaxLifetimeMs: 3 * DAY, intervalMs: 12 * 3_600_000 },
      { shortestMaxLifetimeMs: 3 * DAY, longestMaxLifetimeMs: null, intervalMs: DAY },
    ]);
    expect(() => withFile({ retention: { enabled: true, purge_jobs: [{ interval: 0 }] } })).toThrow(/retention\.purge_jobs\[0\]\.interval.*longer than 0/);
  });
});
