import { describe, expect, it } from 'vitest';
import { caughtUpWith } from './caughtUp.ts';

describe('caughtUpWith', () => {
  const leader = { position: (partition: number) => [5, undefined, 0, 2][partition] };

  it('waits for the last offset the leader applied in each partition it owns, and nothing else', async () => {
    const asked: [number, number][] = [];
    const follower = { waitFor: async (partition: number, offset: number) => { asked.push([partition, offset]); return true; } };
    expect(await caughtUpWith(leader, follower, 4, 100)).toBe(true);
    expect(asked).toEqual([[0, 4], [3, 1]]);
  });

  it('answers false, without throwing, for a follower that times out or has stopped on a failure', async () => {
    expect(await caughtUpWith(leader, { waitFor: async (partition) => partition !== 3 }, 4, 100)).toBe(false);
    expect(await caughtUpWith(leader, { waitFor: () => Promise.reject(new Error('poison record')) }, 4, 100)).toBe(false);
  });
});
