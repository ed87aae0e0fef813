import { describe, expect, it } from 'vitest';
import { listenerNumber, mapLimit, memberSender, senderRooms } from './population.ts';

describe('senderRooms', () => {
  it('covers every (sender, room) pair the schedule i ↦ (i mod clients, i mod rooms) uses, once', () => {
    expect(senderRooms(4, 2)).toEqual([[0, 0], [1, 1], [2, 0], [3, 1]]);
    const pairs = senderRooms(3, 2);
    expect(pairs).toHaveLength(6);
    for (let i = 0; i < 100; i += 1) expect(pairs).toContainEqual([i % 3, i % 2]);
    expect(senderRooms(20, 10)).toHaveLength(20);
  });
});

describe('memberSender', () => {
  it('sends message i into room i mod rooms from its members in turn', () => {
    expect(Array.from({ length: 6 }, (_, i) => memberSender(i, 2, 3))).toEqual([[0, 0], [1, 0], [0, 1], [1, 1], [0, 2], [1, 2]]);
    expect(memberSender(13, 5, 4)).toEqual([3, 2]);
  });
});

describe('listenerNumber', () => {
  it('numbers listeners room by room', () => {
    expect([listenerNumber(0, 0, 2), listenerNumber(0, 1, 2), listenerNumber(1, 0, 2), listenerNumber(3, 1, 2)]).toEqual([0, 1, 2, 7]);
  });
});

describe('mapLimit', () => {
  it('keeps order and never runs more than the limit at once', async () => {
    let running = 0;
    let peak = 0;
    const results = await mapLimit([5, 1, 4, 2, 3], 2, async (n, i) => {
      running += 1;
      peak = Math.max(peak, running);
      await new Promise((resolve) => setTimeout(resolve, n));
      running -= 1;
      return n * 10 + i;
    });
    expect(results).toEqual([50, 11, 42, 23, 34]);
    expect(peak).toBe(2);
  });
});
