// Parsing POST /search bodies and the search term (search.yaml): defaults, bounds and errors.
import { describe, expect, it } from 'vitest';
import { MatrixError } from '../../errors.ts';
import { decodeBatch, encodeBatch, MAX_CONTEXT_LIMIT, MAX_SEARCH_LIMIT, parseSearchRequest } from './request.ts';
import { MAX_SEARCH_WORDS, searchTerms } from './terms.ts';

const body = (category: Record<string, unknown>) => ({ search_categories: { room_events: category } });
const errcodeOf = (run: () => unknown): string | undefined => {
  try {
    run();
  } catch (error) {
    return error instanceof MatrixError ? error.errcode : 'not a MatrixError';
  }
  return undefined;
};

describe('parseSearchRequest', () => {
  it('fills Synapse\'s defaults', () => {
    expect(parseSearchRequest(body({ search_term: 'hi' }))).toEqual({
      searchTerm: 'hi', keys: ['content.body', 'content.name', 'content.topic'], notRooms: [], notSenders: [], notTypes: [],
      limit: 10, orderBy: 'rank', includeState: false, groupBy: [],
    });
  });

  it('reads every parameter and caps the limits', () => {
    const parsed = parseSearchRequest(body({
      search_term: 'hi', keys: ['content.body', 'content.body'], order_by: 'recent', include_state: true,
      filter: { rooms: ['!a:x'], not_rooms: ['!b:x'], senders: ['@a:x'], not_senders: ['@b:x'], types: ['m.*'], not_types: ['m.room.topic'], contains_url: false, limit: 10_000 },
      event_context: { before_limit: 1000, include_profile: true },
      groupings: { group_by: [{ key: 'sender' }, { key: 'room_id' }] },
    }));
    expect(parsed).toEqual({
      searchTerm: 'hi', keys: ['content.body'], rooms: ['!a:x'], notRooms: ['!b:x'], senders: ['@a:x'], notSenders: ['@b:x'],
      types: ['m.*'], notTypes: ['m.room.topic'], containsUrl: false, limit: MAX_SEARCH_LIMIT, orderBy: 'recent',
      eventContext: { beforeLimit: MAX_CONTEXT_LIMIT, afterLimit: 5, includeProfile: true }, includeState: true, groupBy: ['sender', 'room_id'],
    });
  });

  it('answers bad input with Matrix errors', () => {
    expect(errcodeOf(() => parseSearchRequest([]))).toBe('M_BAD_JSON');
    expect(errcodeOf(() => parseSearchRequest({}))).toBe('M_BAD_JSON');
    expect(errcodeOf(() => parseSearchRequest({ search_categories: {} }))).toBe('M_UNKNOWN');
    expect(errcodeOf(() => parseSearchRequest(body({})))).toBe('M_BAD_JSON');
    expect(errcodeOf(() => parseSearchRequest(body({ search_term: 'x', keys: 'content.body' })))).toBe('M_BAD_JSON');
    expect(errcodeOf(() => parseSearchRequest(body({ search_term: 'x', keys: ['sender'] })))).toBe('M_INVALID_PARAM');
    expect(errcodeOf(() => parseSearchRequest(body({ search_term: 'x', filter: { limit: -3 } })))).toBe('M_INVALID_PARAM');
    expect(errcodeOf(() => parseSearchRequest(body({ search_term: 'x', filter: { not_types: ['x'.repeat(256)] } })))).toBe('M_INVALID_PARAM');
    expect(errcodeOf(() => parseSearchRequest(body({ search_term: 'x', groupings: { group_by: {} } })))).toBe('M_BAD_JSON');
    expect(errcodeOf(() => parseSearchRequest(body({ search_term: 'x', event_context: { include_profile: 1 } })))).toBe('M_BAD_JSON');
    expect(errcodeOf(() => parseSearchRequest(body({ search_term: 'x', filter: { contains_url: 'yes' } })))).toBe('M_BAD_JSON');
  });
});

describe('next_batch', () => {
  it('round-trips per order and refuses the other order\'s or a forged one', () => {
    expect(decodeBatch(encodeBatch({ skip: 20 }), 'rank')).toEqual({ skip: 20 });
    expect(decodeBatch(encodeBatch({ ts: 5, eventId: '$e' }), 'recent')).toEqual({ ts: 5, eventId: '$e' });
    expect(errcodeOf(() => decodeBatch(encodeBatch({ skip: 20 }), 'recent'))).toBe('M_INVALID_PARAM');
    expect(errcodeOf(() => decodeBatch(Buffer.from('["r",-1]').toString('base64url'), 'rank'))).toBe('M_INVALID_PARAM');
    expect(errcodeOf(() => decodeBatch('%%%', 'rank'))).toBe('M_INVALID_PARAM');
  });
});

describe('searchTerms', () => {
  it('requires every word, negates -words and matches the last word as a prefix', () => {
    expect(searchTerms('Hello, wörld!')).toEqual({ tsquery: "'hello' & 'wörld':*", words: ['hello', 'wörld'] });
    expect(searchTerms('cake -lie')).toEqual({ tsquery: "'cake':* & !'lie'", words: ['cake'] });
    expect(searchTerms("it's & | ! :*")).toEqual({ tsquery: "'it' & 's':*", words: ['it', 's'] });
    expect(searchTerms('  !?  ')).toEqual({ tsquery: undefined, words: [] });
    expect(searchTerms('-only')).toEqual({ tsquery: undefined, words: [] });
    expect(searchTerms(Array.from({ length: 100 }, (_, i) => `w${i}`).join(' ')).words).toHaveLength(MAX_SEARCH_WORDS);
  });
});
