import { describe, expect, it } from 'vitest';
import { wordOfRank } from '../analytics/words.ts';
import { kindFigures } from './load.ts';
import { parseSearchBenchArgs } from './options.ts';
import { PAGE, searchAnswer, searchBody, searchKinds } from './queries.ts';

describe('npm run bench search options', () => {
  it('loads a million messages into Strata then Synapse by default, rooms scaled with the count', () => {
    expect(parseSearchBenchArgs([])).toMatchObject({
      servers: ['strata', 'synapse'], messages: 1_000_000, rooms: 500, clients: 8, durationSeconds: 15, apiMessages: 2000, keepSynapse: false,
    });
    expect(parseSearchBenchArgs(['--messages', '100000'])).toMatchObject({ rooms: 50 });
  });

  it('reads lists and numbers, and refuses what it cannot use', () => {
    expect(parseSearchBenchArgs(['--servers', 'synapse', '--clients', '3', '--api-messages', '0', '--keep-synapse']))
      .toMatchObject({ servers: ['synapse'], clients: 3, apiMessages: 0, keepSynapse: true });
    expect(parseSearchBenchArgs(['--help'])).toBe('help');
    expect(() => parseSearchBenchArgs(['--servers', 'dendrite'])).toThrow(/unknown server 'dendrite'/);
    expect(() => parseSearchBenchArgs(['--messages', '5'])).toThrow(/--messages/);
    expect(() => parseSearchBenchArgs(['--bogus'])).toThrow();
  });
});

describe('bench search queries', () => {
  it('asks common, rare, two-word, prefix, one-room, recent and second-page searches', () => {
    const kinds = searchKinds();
    expect(kinds.map((kind) => kind.term)).toContain(wordOfRank(0));
    expect(kinds.filter((kind) => kind.orderBy === 'recent').length).toBeGreaterThanOrEqual(2);
    expect(kinds.some((kind) => kind.secondPage === true)).toBe(true);
    const oneRoom = kinds.find((kind) => kind.largestRoomOnly === true)!;
    expect(searchBody(oneRoom, '!big:x')).toEqual({
      search_categories: { room_events: { search_term: wordOfRank(0), order_by: 'rank', filter: { limit: PAGE, rooms: ['!big:x'] } } },
    });
  });

  it('reads count, result ids and next_batch of an answer', () => {
    expect(searchAnswer({ search_categories: { room_events: { count: 3, results: [{ result: { event_id: '$a' } }], next_batch: 'n' } } }))
      .toEqual({ count: 3, eventIds: ['$a'], nextBatch: 'n' });
    expect(searchAnswer({})).toEqual({ count: undefined, eventIds: [], nextBatch: undefined });
  });

  it('sums up a load run', () => {
    expect(kindFigures([30, 10, 20], 1, 2, 'boom')).toEqual({ queries: 3, errors: 1, perSecond: 1.5, p50: 20, p99: 30, max: 30, firstError: 'boom' });
    expect(Number.isNaN(kindFigures([], 0, 1).p50)).toBe(true);
  });
});
