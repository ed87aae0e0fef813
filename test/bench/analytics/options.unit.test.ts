import { describe, expect, it } from 'vitest';
import { parseAnalyticsBenchArgs } from './options.ts';
import { progressLine } from './progress.ts';
import { analystQuestions, disagreement } from './questions.ts';

describe('npm run bench analytics options', () => {
  it('writes a million sealed events by default, scaling rooms and users with the count', () => {
    expect(parseAnalyticsBenchArgs([])).toMatchObject({
      events: 1_000_000, rooms: 10_000, senders: 10_000, remoteServers: 5, days: 180, partitions: 8, repetitions: 5, sealed: true, keep: false,
    });
    expect(parseAnalyticsBenchArgs(['--events', '10000000'])).toMatchObject({ rooms: 100_000, senders: 100_000 });
  });

  it('reads numbers and flags, and refuses what it cannot use', () => {
    expect(parseAnalyticsBenchArgs(['--events', '5000', '--rooms', '7', '--remote-servers', '0', '--unsealed', '--keep']))
      .toMatchObject({ events: 5000, rooms: 7, remoteServers: 0, sealed: false, keep: true });
    expect(parseAnalyticsBenchArgs(['--help'])).toBe('help');
    expect(() => parseAnalyticsBenchArgs(['--events', '10'])).toThrow(/--events must be an integer of at least 1000/);
    expect(() => parseAnalyticsBenchArgs(['--repetitions', '1.5'])).toThrow(/--repetitions/);
    expect(() => parseAnalyticsBenchArgs(['--bogus'])).toThrow();
  });
});

describe('bench analytics progress and answers', () => {
  it('prints the rate and the time left at that rate', () => {
    expect(progressLine('writing', 250_000, 1_000_000, 50_000)).toBe('writing: 25.0% 250,000/1,000,000, 5,000/s, 50s elapsed, ETA 2m30s');
    expect(progressLine('writing', 10, 10, 1000)).toBe('writing: 100.0% 10/10, 10/s, 1s elapsed, done');
  });

  it('compares answers key by key, per server where redaction blurs the msgtype', () => {
    const [perDay, , , , perServer] = analystQuestions({ endMs: Date.UTC(2026, 5, 1), roomId: '!r:x' });
    expect(disagreement(perDay!, [{ key: 'a', value: 1 }], [{ key: 'a', value: 1 }])).toBeUndefined();
    expect(disagreement(perDay!, [{ key: 'a', value: 1 }], [{ key: 'a', value: 2 }])).toBe('a: ClickHouse 1, PostgreSQL 2');
    expect(disagreement(perDay!, [], [{ key: 'b', value: 2 }])).toBe('b: ClickHouse nothing, PostgreSQL 2');
    expect(disagreement(perServer!, [{ key: 's m.text', value: 2 }, { key: 's m.image', value: 1 }], [{ key: 's m.text', value: 2 }, { key: 's ', value: 1 }]))
      .toBeUndefined();
  });
});
