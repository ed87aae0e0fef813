import { describe, expect, it } from 'vitest';
import { MatrixError } from '../../errors.ts';
import {
  bucketStarts, parseExportEventsQuery, parseExportKind, parseSqlRequest, parseTimeseriesQuery, parseTopQuery, userIdParam,
} from './analystParams.ts';
import { seriesOf } from './analyst.ts';
import { csvField, csvLine, encodeCsv, encodeJsonArray } from './exportFormat.ts';
import { MAX_TIME_MS } from './params.ts';

const failure = (work: () => unknown): MatrixError => {
  try {
    work();
  } catch (error) {
    if (error instanceof MatrixError) return error;
    throw error;
  }
  throw new Error('expected a MatrixError');
};

const collect = async (chunks: AsyncIterable<string>): Promise<string> => {
  let text = '';
  for await (const chunk of chunks) text += chunk;
  return text;
};

const HOUR = 3_600_000;

describe('analyst parameters', () => {
  it('parses a time series query with defaults', () => {
    expect(parseTimeseriesQuery({ bucket: 'hour', from: '0', to: String(2 * HOUR) }))
      .toEqual({ bucket: 'hour', from: 0, to: 2 * HOUR, groupBy: 'none', status: 'accepted', limit: 10 });
    expect(parseTimeseriesQuery({
      bucket: 'minute', from: '60000', to: '120000', group_by: 'msgtype', status: 'soft_failed', limit: '100',
      room_id: '!a,b "c"\nd:a.test', type: "x'); DROP TABLE t; --",
    })).toMatchObject({ groupBy: 'msgtype', roomId: '!a,b "c"\nd:a.test', type: "x'); DROP TABLE t; --", limit: 100 });
  });

  it.each([
    [{ from: '0', to: '1' }, 'M_MISSING_PARAM'],
    [{ bucket: 'hour', to: '1' }, 'M_MISSING_PARAM'],
    [{ bucket: 'hour', from: '0' }, 'M_MISSING_PARAM'],
    [{ bucket: 'week', from: '0', to: '1' }, 'M_INVALID_PARAM'],
    [{ bucket: ['hour', 'day'], from: '0', to: '1' }, 'M_INVALID_PARAM'],
    [{ bucket: 'minute', from: '0', to: String(10_000 * 60_000 + 1) }, 'M_INVALID_PARAM'],
    [{ bucket: 'day', from: '0', to: String(MAX_TIME_MS + 1) }, 'M_INVALID_PARAM'],
    [{ bucket: 'hour', from: '5', to: '5' }, 'M_INVALID_PARAM'],
    [{ bucket: 'hour', from: '0', to: '1', limit: '0' }, 'M_INVALID_PARAM'],
    [{ bucket: 'hour', from: '0', to: '1', limit: '101' }, 'M_INVALID_PARAM'],
    [{ bucket: 'hour', from: '0', to: '1', group_by: 'week' }, 'M_INVALID_PARAM'],
    [{ bucket: 'hour', from: '0', to: '1', room_id: "' OR 1=1" }, 'M_INVALID_PARAM'],
    [{ bucket: 'hour', from: '0', to: '1', type: 'x'.repeat(256) }, 'M_INVALID_PARAM'],
  ])('refuses the time series query %j with %s', (params, errcode) => {
    expect(failure(() => parseTimeseriesQuery(params))).toMatchObject({ errcode, status: 400 });
  });

  it('counts buckets from the one holding from', () => {
    expect(bucketStarts('hour', HOUR + 5, 3 * HOUR)).toEqual([HOUR, 2 * HOUR]);
    expect(bucketStarts('hour', HOUR, 3 * HOUR + 1)).toEqual([HOUR, 2 * HOUR, 3 * HOUR]);
    // 10,000 minutes exactly is allowed, one bucket more is not.
    expect(parseTimeseriesQuery({ bucket: 'minute', from: '30000', to: String(10_000 * 60_000) }).to).toBe(600_000_000);
    expect(failure(() => parseTimeseriesQuery({ bucket: 'minute', from: '30000', to: String(10_000 * 60_000 + 1) })).errcode).toBe('M_INVALID_PARAM');
  });

  it('parses top, export and user parameters', () => {
    expect(parseTopQuery('msgtypes', {})).toEqual({ dimension: 'msgtypes', from: 0, to: MAX_TIME_MS + 1, limit: 10 });
    expect(parseTopQuery('rooms', { limit: '1000', room_id: '!r:a.test' })).toMatchObject({ limit: 1000, roomId: '!r:a.test' });
    expect(failure(() => parseTopQuery('channels', {})).errcode).toBe('M_INVALID_PARAM');
    expect(failure(() => parseTopQuery('rooms', { limit: '1001' })).errcode).toBe('M_INVALID_PARAM');
    expect(parseExportEventsQuery({}, 500)).toEqual({ from: 0, to: MAX_TIME_MS + 1, limit: 500 });
    expect(parseExportEventsQuery({ sender: '@a:b.test', status: 'rejected', limit: '5' }, 500))
      .toMatchObject({ sender: '@a:b.test', status: 'rejected', limit: 5 });
    expect(failure(() => parseExportEventsQuery({ limit: '501' }, 500)).errcode).toBe('M_INVALID_PARAM');
    expect(failure(() => parseExportEventsQuery({ sender: 'a' }, 500)).errcode).toBe('M_INVALID_PARAM');
    expect(failure(() => parseExportEventsQuery({ status: 'gone' }, 500)).errcode).toBe('M_INVALID_PARAM');
    expect(parseExportKind({ dataset: 'top', format: 'json' })).toEqual({ dataset: 'top', format: 'json' });
    expect(failure(() => parseExportKind({ dataset: 'top' })).errcode).toBe('M_MISSING_PARAM');
    expect(userIdParam('@x:a.test')).toBe('@x:a.test');
    expect(failure(() => userIdParam('x')).errcode).toBe('M_INVALID_PARAM');
  });

  it('parses a SQL request body', () => {
    expect(parseSqlRequest({ query: 'SELECT 1' })).toEqual({ query: 'SELECT 1', maxRows: 1000 });
    expect(parseSqlRequest({ query: 'SELECT 1', max_rows: 10_000 })).toEqual({ query: 'SELECT 1', maxRows: 10_000 });
    for (const [body, errcode] of [
      [null, 'M_BAD_JSON'], [[], 'M_BAD_JSON'], ['SELECT 1', 'M_BAD_JSON'], [{}, 'M_MISSING_PARAM'], [{ query: 1 }, 'M_BAD_JSON'],
      [{ query: '  ' }, 'M_INVALID_PARAM'], [{ query: 'x'.repeat(20_001) }, 'M_INVALID_PARAM'], [{ query: 'SELECT \uD800' }, 'M_INVALID_PARAM'],
      [{ query: 'SELECT 1', max_rows: 0 }, 'M_INVALID_PARAM'], [{ query: 'SELECT 1', max_rows: 1.5 }, 'M_INVALID_PARAM'],
      [{ query: 'SELECT 1', max_rows: '5' }, 'M_INVALID_PARAM'],
    ] as const) {
      expect(failure(() => parseSqlRequest(body)).errcode, JSON.stringify(body)).toBe(errcode);
    }
  });
});

describe('series', () => {
  const query = { bucket: 'hour', from: HOUR, to: 4 * HOUR, groupBy: 'room', status: 'accepted', limit: 2 } as const;

  it('fills every bucket, orders by total then key, and keeps the limit', () => {
    expect(seriesOf(query, [
      { key: '!b:x', ts: HOUR, count: 2 }, { key: '!a:x', ts: 3 * HOUR, count: 2 }, { key: '!c:x', ts: 2 * HOUR, count: 1 },
    ])).toEqual([
      { key: '!a:x', total: 2, points: [{ ts: HOUR, count: 0 }, { ts: 2 * HOUR, count: 0 }, { ts: 3 * HOUR, count: 2 }] },
      { key: '!b:x', total: 2, points: [{ ts: HOUR, count: 2 }, { ts: 2 * HOUR, count: 0 }, { ts: 3 * HOUR, count: 0 }] },
    ]);
  });

  it('answers one all-zero series without grouping, and none for groups without events', () => {
    expect(seriesOf({ ...query, groupBy: 'none' }, [])).toEqual([
      { key: null, total: 0, points: [{ ts: HOUR, count: 0 }, { ts: 2 * HOUR, count: 0 }, { ts: 3 * HOUR, count: 0 }] },
    ]);
    expect(seriesOf(query, [])).toEqual([]);
  });
});

describe('export encodings', () => {
  it('quotes CSV fields as RFC 4180 says', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('line\nbreak')).toBe('"line\nbreak"');
    expect(csvField('cr\r')).toBe('"cr\r"');
    expect(csvField(null)).toBe('');
    expect(csvField(true)).toBe('true');
    expect(csvField(12)).toBe('12');
    expect(csvLine(['!a,"b"\n:c', 1])).toBe('"!a,""b""\n:c",1\r\n');
  });

  it('writes a header and every row, in chunks, from an async source', async () => {
    async function* rows() {
      for (let i = 0; i < 20_000; i++) yield { n: i, key: `k,${i}` };
    }
    const chunks: string[] = [];
    for await (const chunk of encodeCsv(['key', 'n'], rows())) chunks.push(chunk);
    expect(chunks.length).toBeGreaterThan(1);
    const lines = chunks.join('').split('\r\n');
    expect(lines[0]).toBe('key,n');
    expect(lines[20_000]).toBe('"k,19999",19999');
    expect(lines).toHaveLength(20_002);
    expect(await collect(encodeCsv(['a'], []))).toBe('a\r\n');
  });

  it('writes a JSON array of the named columns only', async () => {
    expect(JSON.parse(await collect(encodeJsonArray(['a', 'b'], [{ a: 'x"\n', b: 1, c: 'hidden' }, { a: null }])))).toEqual([
      { a: 'x"\n', b: 1 }, { a: null, b: null },
    ]);
    expect(JSON.parse(await collect(encodeJsonArray(['a'], [])))).toEqual([]);
  });
});
