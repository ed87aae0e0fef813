import { describe, expect, it } from 'vitest';
import { formatHostLoad, hostLoadBetween, sampleHost } from './hostLoad.ts';

const proc = (stat: string, pressure?: string) => (path: string): string => {
  if (path === '/proc/stat') return stat;
  if (path === '/proc/pressure/cpu' && pressure !== undefined) return pressure;
  throw new Error(`ENOENT: ${path}`);
};

describe('host load', () => {
  it('reads busy and total ticks of all cores, and how long tasks waited for one', () => {
    const sample = sampleHost(proc(
      'cpu  100 5 50 800 40 3 2 0 7 0\ncpu0 50 2 25 400 20 1 1 0 0 0\n',
      'some avg10=1.00 avg60=2.00 avg300=3.00 total=123456\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n',
    ), () => 10);
    // Idle and iowait are not busy; guest time is inside user already.
    expect(sample).toEqual({ atMs: 10, busyTicks: 160, totalTicks: 1000, cpuWaitUs: 123456 });
  });

  it('gives the shares of a step: cores busy, and wall time with a task waiting', () => {
    const before = { atMs: 0, busyTicks: 100, totalTicks: 1000, cpuWaitUs: 1_000_000 };
    const after = { atMs: 20_000, busyTicks: 3100, totalTicks: 5000, cpuWaitUs: 7_000_000 };
    const load = hostLoadBetween(before, after);
    expect(load).toEqual({ busyPercent: 75, cpuWaitPercent: 30 });
    expect(formatHostLoad(load)).toBe('75 % busy, a task waited for a core 30 % of the time');
  });

  it('says busy time only without pressure stall information, and nothing without /proc', () => {
    const sample = sampleHost(proc('cpu  100 0 0 900 0 0 0 0 0 0\n'), () => 0);
    expect(sample).toEqual({ atMs: 0, busyTicks: 100, totalTicks: 1000 });
    expect(formatHostLoad(hostLoadBetween(sample, { atMs: 1000, busyTicks: 600, totalTicks: 2000 }))).toBe('50 % busy');
    expect(sampleHost(proc('garbage'))).toBeUndefined();
    expect(sampleHost(() => { throw new Error('ENOENT'); })).toBeUndefined();
    expect(formatHostLoad(hostLoadBetween(undefined, sample))).toBe('not measured (no /proc/stat)');
  });
});
