import { describe, expect, it } from 'vitest';
import { formatStages, histogramQuantile, parseStageHistograms, stagesBetween } from './serverStages.ts';

const exposition = (append: number[], wake: number[]): string => {
  const bounds = ['0.001', '0.01', '0.1', '+Inf'];
  return [
    '# HELP strata_send_stage_seconds Stages of a local send',
    '# TYPE strata_send_stage_seconds histogram',
    ...bounds.map((le, i) => `strata_send_stage_seconds_bucket{le="${le}",stage="append"} ${append[i]}`),
    `strata_send_stage_seconds_sum{stage="append"} 1.5`,
    `strata_send_stage_seconds_count{stage="append"} ${append[3]}`,
    ...bounds.map((le, i) => `strata_sync_wake_to_answer_seconds_bucket{le="${le}"} ${wake[i]}`),
    'strata_http_request_duration_seconds_bucket{le="0.001",method="GET",route="/x",status="200"} 7',
  ].join('\n');
};

describe('server stages from /metrics', () => {
  it('reads the stage histograms and nothing else', () => {
    const parsed = parseStageHistograms(exposition([1, 2, 3, 4], [0, 5, 5, 5]));
    expect([...parsed.keys()].sort()).toEqual(['append', 'wake→answer']);
    expect(parsed.get('append')).toEqual(new Map([[0.001, 1], [0.01, 2], [0.1, 3], [Infinity, 4]]));
  });

  it('estimates quantiles within buckets as histogram_quantile does', () => {
    const buckets = new Map([[0.01, 0], [0.02, 100], [Infinity, 100]]);
    expect(histogramQuantile(buckets, 0.5)).toBeCloseTo(0.015);
    expect(histogramQuantile(buckets, 0.99)).toBeCloseTo(0.0199);
    expect(histogramQuantile(new Map([[0.01, 1], [Infinity, 2]]), 0.99)).toBe(0.01);
    expect(histogramQuantile(new Map([[Infinity, 0]]), 0.5)).toBeNaN();
  });

  it('takes the step\'s own samples (after − before), in a message\'s order, p50 / p99 in ms', () => {
    const before = parseStageHistograms(exposition([10, 10, 10, 10], [0, 0, 0, 0]));
    const after = parseStageHistograms(exposition([10, 10, 110, 110], [0, 0, 0, 0]));
    const figures = stagesBetween(before, after);
    expect(figures).toHaveLength(1);
    expect(figures[0]).toMatchObject({ stage: 'append', count: 100 });
    expect(figures[0]!.p50).toBeCloseTo(55);
    expect(figures[0]!.p99).toBeCloseTo(99.1);
    expect(formatStages(figures)).toBe('append 55.0 / 99.1');
    expect(formatStages(undefined)).toBe('-');
    const woken = stagesBetween(parseStageHistograms(''), parseStageHistograms(exposition([1, 1, 1, 1], [0, 4, 4, 4])));
    expect(woken.map((f) => f.stage)).toEqual(['append', 'wake→answer']);
  });
});
