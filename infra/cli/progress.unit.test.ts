import { describe, expect, it } from 'vitest';
import { createProgressBar, formatDuration } from './progress.ts';

const fakeStream = (isTTY: boolean) => {
  const writes: string[] = [];
  return { writes, stream: { isTTY, columns: 100, write: (text: string) => writes.push(text) } };
};

describe('createProgressBar', () => {
  it('redraws one terminal line with bar, percent, counts and rate, throttled', () => {
    let clock = 0;
    const { writes, stream } = fakeStream(true);
    const bar = createProgressBar({ label: 'timeline', stream, now: () => clock });
    clock = 1000;
    bar.update(250, 1000);
    bar.update(260, 1000); // within 100 ms: not drawn
    clock = 2000;
    bar.update(1000, 1000);
    bar.finish();
    expect(writes).toHaveLength(4);
    expect(writes[0]).toMatch(/^\r\[#+-+\] timeline  25\.0%  250\/1000  250\/s  ETA 3s\x1b\[K$/);
    expect(writes[1]).toContain('100.0%  1000/1000  500/s  done');
    expect(writes[1]).not.toContain('-]');
    expect(writes[3]).toBe('\n');
  });

  it('prints plain lines every interval when stderr is not a terminal', () => {
    let clock = 0;
    const { writes, stream } = fakeStream(false);
    const bar = createProgressBar({ label: 'search', stream, plainIntervalSeconds: 5, now: () => clock });
    bar.update(0, 100); // first update is drawn
    clock = 3000;
    bar.update(50, 100); // too soon
    clock = 6000;
    bar.update(60, 100);
    clock = 7000;
    bar.finish();
    bar.update(99, 100); // ignored after finish
    expect(writes).toEqual([
      'search: 0.0%  0/100  0/s  ETA ?\n',
      'search: 60.0%  60/100  10/s  ETA 4s\n',
      'search: 60.0%  60/100  9/s  ETA 5s\n',
    ]);
    expect(writes.every((line) => !line.includes('\r'))).toBe(true);
  });

  it('says the time left coarser as it grows', () => {
    expect(formatDuration(0.2)).toBe('1s');
    expect(formatDuration(59)).toBe('59s');
    expect(formatDuration(725)).toBe('12m05s');
    expect(formatDuration(3 * 3600 + 7 * 60 + 30)).toBe('3h07m');
  });
});
