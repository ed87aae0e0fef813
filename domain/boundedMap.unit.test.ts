import { describe, expect, it } from 'vitest';
import { BoundedMap } from './boundedMap.ts';

describe('BoundedMap', () => {
  it('keeps the most recently set entries up to its capacity, oldest forgotten first', () => {
    const evicted: [string, number][] = [];
    const map = new BoundedMap<string, number>(2, (key, value) => evicted.push([key, value]));
    for (const [key, value] of [['a', 1], ['b', 2], ['a', 3], ['c', 4]] as const) map.set(key, value);
    expect([...map]).toEqual([['a', 3], ['c', 4]]);
    expect(evicted).toEqual([['b', 2]]);
  });

  it('refreshes an entry on touch but not on get', () => {
    const map = new BoundedMap<string, number>(2);
    map.set('a', 1).set('b', 2);
    expect(map.get('a')).toBe(1);
    map.set('c', 3);
    expect([...map.keys()]).toEqual(['b', 'c']);
    expect(map.touch('b')).toBe(2);
    map.set('d', 4);
    expect([...map.keys()]).toEqual(['b', 'd']);
    expect(map.touch('missing')).toBeUndefined();
  });

  it('refuses a capacity below one', () => {
    expect(() => new BoundedMap(0)).toThrow(RangeError);
  });
});
