import { describe, expect, it } from 'vitest';
import { parseSlidingSyncBenchArgs } from './options.ts';
import { populationFile } from './population.ts';
import { formatTable, runFigures } from './report.ts';

describe('bench sliding-sync: options', () => {
  it('measures the server under test beside Synapse with the defaults', () => {
    const options = parseSlidingSyncBenchArgs(['--url', 'http://127.0.0.1:8118', '--shared-secret', 's', '--start-synapse'], {});
    expect(options).toMatchObject({
      rooms: 1000, runs: 3, firsts: 10, incrementals: 20, window: 20, extensions: true, startSynapse: true,
      targets: [{ label: 'Strata', url: 'http://127.0.0.1:8118', sharedSecret: 's' }, { label: 'Synapse', url: 'http://127.0.0.1:18008', sharedSecret: 'synapse-bench-secret' }],
    });
  });

  it('refuses what it cannot run, naming the option', () => {
    const refused = (args: string[]) => () => parseSlidingSyncBenchArgs(args, {});
    expect(refused([])).toThrow(/--url/);
    expect(refused(['--url', 'http://127.0.0.1:1'])).toThrow(/--shared-secret/);
    expect(refused(['--start-synapse', '--rooms', '0'])).toThrow(/--rooms/);
    expect(refused(['--start-synapse', '--rooms', '10', '--window', '20'])).toThrow(/--window/);
    expect(refused(['--start-synapse', '--bogus', '1'])).toThrow(/--bogus/);
    expect(refused(['--url', 'http://example.org', '--shared-secret', 's'])).toThrow(/loopback/);
    expect(parseSlidingSyncBenchArgs(['--help'], {})).toBe('help');
  });
});

describe('bench sliding-sync: figures', () => {
  it('gives p50 and p99 over all runs with the best and worst run beside them', () => {
    const figures = runFigures('S', [{ firsts: [10, 20, 30], incrementals: [1, 2] }, { firsts: [40, 50, 60], incrementals: [3, 4] }]);
    expect(figures.firstP50).toEqual({ all: 30, best: 20, worst: 50 });
    expect(figures.incrementalP99).toEqual({ all: 4, best: 2, worst: 4 });
    const table = formatTable([figures]).split('\n');
    expect(table[0]).toBe('| | S |');
    expect(table[2]).toBe('| first response p50 | 30.0 ms (runs 20.0 ms–50.0 ms) |');
  });

  it('keeps each server population in its own file', () => {
    const file = populationFile('http://127.0.0.1:18008', 'synapse.localhost', { STRATA_SERVICES_DIR: '/tmp/s' });
    expect(file).toBe('/tmp/s/bench-sliding-sync/127.0.0.1_18008_synapse.localhost.json');
  });
});
