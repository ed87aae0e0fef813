import { describe, expect, it } from 'vitest';
import { parseAppserviceBenchArgs } from './options.ts';

describe('npm run bench appservice options', () => {
  it('measures Strata then Synapse at 10, 50 and 100/s by default', () => {
    expect(parseAppserviceBenchArgs([])).toMatchObject({
      servers: ['strata', 'synapse'], rates: [10, 50, 100], durationSeconds: 20, runs: 1, senders: 4, rooms: 4, strataMode: 'distributed',
    });
  });

  it('reads lists and numbers, and refuses what it cannot use', () => {
    expect(parseAppserviceBenchArgs(['--servers', 'synapse', '--rates', '5,200', '--runs', '3', '--strata-mode', 'embedded']))
      .toMatchObject({ servers: ['synapse'], rates: [5, 200], runs: 3, strataMode: 'embedded' });
    expect(parseAppserviceBenchArgs(['--help'])).toBe('help');
    expect(() => parseAppserviceBenchArgs(['--servers', 'dendrite'])).toThrow(/unknown server 'dendrite'/);
    expect(() => parseAppserviceBenchArgs(['--rates', '10,0'])).toThrow(/--rates must be a positive number/);
    expect(() => parseAppserviceBenchArgs(['--strata-mode', 'cloud'])).toThrow(/--strata-mode/);
    expect(() => parseAppserviceBenchArgs(['--bogus'])).toThrow();
  });
});
