import { describe, expect, it } from 'vitest';
import { inFlightCapFor, isLoopbackUrl, parseCsBenchArgs, SYNAPSE_URL, type CsBenchOptions } from './options.ts';

const parse = (args: string[], env: Record<string, string> = {}): CsBenchOptions => {
  const parsed = parseCsBenchArgs(args, env);
  if (parsed === 'help') throw new Error('unexpected help');
  return parsed;
};

describe('parseCsBenchArgs', () => {
  it('applies the documented defaults', () => {
    const o = parse(['--url', 'http://127.0.0.1:8118/', '--shared-secret', 's']);
    expect(o.targets).toEqual([{ label: '', url: 'http://127.0.0.1:8118', sharedSecret: 's' }]);
    expect(o).toMatchObject({ rates: [200], findMax: false, durationSeconds: 30, clients: 20, rooms: 10, listenersPerRoom: 1, maxInFlight: undefined });
    expect(o).toMatchObject({ membersSend: false, filter: true, timelineLimit: 1000 });
    expect(o.maxRuntimeSeconds).toBeGreaterThan(30);
  });

  it('caps outstanding sends at what the rate puts in flight at the p99 bound, or as told', () => {
    expect(inFlightCapFor(1000, 2000)).toBe(2000);
    expect(inFlightCapFor(500, 300)).toBe(256);
    expect(inFlightCapFor(333, 1000)).toBe(333);
    expect(parse(['--url', 'http://127.0.0.1:8118', '--shared-secret', 's', '--max-in-flight', '64']).maxInFlight).toBe(64);
  });

  it('adds the baseline, with the Synapse secret from the environment by default', () => {
    const o = parse(['--url', 'http://localhost:8118', '--shared-secret', 's', '--baseline-url', 'http://127.0.0.1:18008', '--rates', '100, 300'],
      { STRATA_SYNAPSE_SHARED_SECRET: 'from-env' });
    expect(o.targets[1]).toEqual({ label: '', url: 'http://127.0.0.1:18008', sharedSecret: 'from-env' });
    expect(o.rates).toEqual([100, 300]);
  });

  it('uses the local Synapse for --start-synapse, alone when no --url is given', () => {
    const o = parse(['--start-synapse', '--find-max', '--rate', '50']);
    expect(o.targets).toEqual([{ label: '', url: SYNAPSE_URL, sharedSecret: 'synapse-bench-secret' }]);
    expect(o).toMatchObject({ startSynapse: true, findMax: true, rates: [50], stepFactor: 2, maxRate: 5000 });
  });

  it('takes the issue-15 shape: listeners per room (--listeners as alias), members sending, the filter or none', () => {
    const base = ['--url', 'http://127.0.0.1:8118', '--shared-secret', 's'];
    const o = parse([...base, '--rooms', '5', '--listeners-per-room', '4', '--members-send', '--filter', '--timeline-limit', '500']);
    expect(o).toMatchObject({ rooms: 5, listenersPerRoom: 4, membersSend: true, filter: true, timelineLimit: 500 });
    expect(parse([...base, '--listeners', '3']).listenersPerRoom).toBe(3);
    expect(parse([...base, '--no-filter']).filter).toBe(false);
    expect(() => parse([...base, '--listeners', '3', '--listeners-per-room', '3'])).toThrow(/pass one/);
    expect(() => parse([...base, '--filter', '--no-filter'])).toThrow(/either --filter or --no-filter/);
    expect(() => parse([...base, '--no-filter', '--timeline-limit', '10'])).toThrow(/needs the filter/);
    expect(() => parse([...base, '--members-send', '--clients', '20'])).toThrow(/--clients is unused/);
    expect(parse([...base, '--trace', '/tmp/t.csv']).tracePath).toBe('/tmp/t.csv');
    expect(parse(base).tracePath).toBeUndefined();
    expect(() => parse([...base, '--listeners-per-room', '0'])).toThrow(/--listeners-per-room/);
  });

  it('keeps the database each server is said to run on', () => {
    const o = parse(['--url', 'http://127.0.0.1:8118', '--shared-secret', 's', '--database', 'PostgreSQL (strata)',
      '--baseline-url', 'http://127.0.0.1:18008', '--baseline-database', 'PostgreSQL (synapse)']);
    expect(o.targets.map((t) => t.database)).toEqual(['PostgreSQL (strata)', 'PostgreSQL (synapse)']);
  });

  it('reads the server\'s /metrics around each step only when given --metrics-url', () => {
    const base = ['--url', 'http://127.0.0.1:8118', '--shared-secret', 's'];
    expect(parse(base).targets[0]!.metricsUrl).toBeUndefined();
    expect(parse([...base, '--metrics-url', 'http://127.0.0.1:9108/metrics']).targets[0]!.metricsUrl).toBe('http://127.0.0.1:9108/metrics');
    expect(() => parse([...base, '--metrics-url', 'http://metrics.example.org/metrics'])).toThrow(/--allow-remote/);
  });

  it('refuses remote servers unless --allow-remote', () => {
    expect(() => parse(['--url', 'http://matrix.org', '--shared-secret', 's'])).toThrow(/--allow-remote/);
    expect(parse(['--url', 'https://matrix.org', '--shared-secret', 's', '--allow-remote']).targets).toHaveLength(1);
  });

  it('rejects missing or malformed values with a message naming the option', () => {
    expect(() => parse([])).toThrow(/--url is required/);
    expect(() => parse(['--url', 'http://127.0.0.1:1'])).toThrow(/--shared-secret/);
    expect(() => parse(['--url', 'http://127.0.0.1:1', '--shared-secret', 's', '--rate', '0'])).toThrow(/--rate/);
    expect(() => parse(['--url', 'http://127.0.0.1:1', '--shared-secret', 's', '--clients', '2.5'])).toThrow(/--clients/);
    expect(() => parse(['--url', 'http://127.0.0.1:1', '--shared-secret', 's', '--rates', '1,2', '--find-max'])).toThrow(/either/);
    expect(() => parse(['--url', 'ftp://127.0.0.1', '--shared-secret', 's'])).toThrow(/http/);
    expect(() => parse(['--bogus'])).toThrow();
    expect(parseCsBenchArgs(['--help'])).toBe('help');
  });
});

describe('isLoopbackUrl', () => {
  it('accepts 127/8, ::1 and localhost only', () => {
    expect(isLoopbackUrl('http://127.0.0.1:18008')).toBe(true);
    expect(isLoopbackUrl('http://127.1.2.3')).toBe(true);
    expect(isLoopbackUrl('http://[::1]:8008')).toBe(true);
    expect(isLoopbackUrl('http://localhost:8008')).toBe(true);
    expect(isLoopbackUrl('http://127.0.0.1.example.com')).toBe(false);
    expect(isLoopbackUrl('http://10.0.0.1')).toBe(false);
    expect(isLoopbackUrl('not a url')).toBe(false);
  });
});
