import { describe, expect, it } from 'vitest';
import { pairKinds, PAIRS, parseFederationBenchArgs, parsePairs, type FederationBenchOptions } from './options.ts';

const parse = (args: string[]): FederationBenchOptions => {
  const parsed = parseFederationBenchArgs(args);
  if (parsed === 'help') throw new Error('unexpected help');
  return parsed;
};

describe('parseFederationBenchArgs', () => {
  it('applies the documented defaults: all four pairs, Synapse → Synapse last', () => {
    const o = parse([]);
    expect(o).toMatchObject({ rate: 10, durationSeconds: 30, runs: 1, senders: 4, listeners: 3, drainSeconds: 30, strataMode: 'distributed' });
    expect(o.pairs).toEqual(PAIRS);
    expect(o.pairs.at(-1)).toBe('synapse-synapse');
    expect(o.maxRuntimeSeconds).toBeGreaterThan(4 * (30 + 30));
  });

  it('takes rate, duration, runs and pairs', () => {
    const o = parse(['--rate', '2.5', '--duration', '60', '--runs', '3', '--pairs', 'synapse-strata,strata→synapse']);
    expect(o).toMatchObject({ rate: 2.5, durationSeconds: 60, runs: 3, pairs: ['synapse-strata', 'strata-synapse'] });
  });

  it('refuses bad values with a message naming the option', () => {
    expect(() => parse(['--runs', '1.5'])).toThrow(/--runs must be a positive integer/);
    expect(() => parse(['--rate', '0'])).toThrow(/--rate/);
    expect(() => parse(['--strata-mode', 'cloud'])).toThrow(/--strata-mode/);
    expect(() => parse(['--pairs', 'strata-dendrite'])).toThrow(/unknown pair 'strata-dendrite'/);
    expect(() => parse(['--nope'])).toThrow();
  });

  it('answers --help', () => {
    expect(parseFederationBenchArgs(['--help'])).toBe('help');
  });
});

describe('parsePairs and pairKinds', () => {
  it('accepts arrows and case, drops repeats, and splits a pair into sender and receiver', () => {
    expect(parsePairs('Strata->Synapse, strata-synapse ,Synapse:Synapse')).toEqual(['strata-synapse', 'synapse-synapse']);
    expect(pairKinds('synapse-strata')).toEqual(['synapse', 'strata']);
  });
});
