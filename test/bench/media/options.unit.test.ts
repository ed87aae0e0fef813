import { describe, expect, it } from 'vitest';
import { parseMediaBenchArgs } from './index.ts';

describe('bench media options', () => {
  it('reads the target, a baseline and the sizes, with defaults', () => {
    const options = parseMediaBenchArgs(['--url', 'http://a', '--shared-secret', 's', '--start-synapse', '--files', '2']);
    expect(options.targets).toEqual([
      { url: 'http://a', secret: 's', label: 'Strata' },
      { url: 'http://127.0.0.1:18008', secret: 'synapse-bench-secret', label: 'Synapse' },
    ]);
    expect(options).toMatchObject({ startSynapse: true, files: 2, fileMib: 32, images: 20, rounds: 5, concurrency: 4 });
    const baseline = parseMediaBenchArgs(['--url', 'http://a', '--shared-secret', 's', '--baseline-url', 'http://b', '--baseline-shared-secret', 't']);
    expect(baseline.targets[1]).toEqual({ url: 'http://b', secret: 't', label: 'baseline' });
  });

  it('refuses a missing target, bad counts and unknown arguments', () => {
    expect(() => parseMediaBenchArgs(['--shared-secret', 's'])).toThrow(/--url/);
    expect(() => parseMediaBenchArgs(['--url', 'http://a', '--shared-secret', 's', '--files', '0'])).toThrow(/--files/);
    expect(() => parseMediaBenchArgs(['--url', 'http://a', '--shared-secret', 's', '--images', 'x'])).toThrow(/--images/);
    expect(() => parseMediaBenchArgs(['--url', 'http://a', '--shared-secret', 's', 'extra'])).toThrow(/extra/);
  });
});
