import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ClickHouseQueryError, createClickHouse } from './clickhouseClient.ts';
import type { ClickHouse } from './clickhouseClient.ts';
import { chDateTime, chIdentifier, chNumber, chString, formatDateTimeUtc } from '../../projections/runtime/index.ts';

const TRICKY = [
  "it's", 'double "quoted"', 'back\\slash', 'trailing\\', "\\'", 'new\nline', 'cr\rtab\t',
  'nul\0byte', 'ünïcødé 🎉 中文 עברית', "'; DROP TABLE x; --", '`backtick`', '',
];

describe('ClickHouse client (real server)', () => {
  let ch: ClickHouse;
  const database = `strata_test_${process.pid}`;

  beforeAll(async () => {
    ch = await createClickHouse({ url: inject('strataTestServices').clickhouseUrl, database });
    // New-style MergeTree syntax and DateTime with a time zone: accepted by 18.16 and current servers.
    await ch.exec(`CREATE TABLE IF NOT EXISTS samples (
      id UInt32, body String, n Int64, ratio Float64, at DateTime('UTC')
    ) ENGINE = MergeTree() ORDER BY id`);
  });
  afterAll(async () => {
    await ch.exec(`DROP DATABASE IF EXISTS ${chIdentifier(database)}`);
    await ch.close();
  });

  it('answers ping', async () => {
    expect(await ch.ping()).toBe(true);
  });

  it('round-trips tricky strings through insert() and finds each again with a chString literal', async () => {
    const at = new Date('2024-03-04T05:06:07Z');
    await ch.insert('samples', TRICKY.map((body, id) => ({
      id, body, n: 5 - id * 10, ratio: id / 4, at: formatDateTimeUtc(at),
    })));
    const rows = await ch.query<{ id: number; body: string; n: number; at: string }>(
      'SELECT id, body, n, at FROM samples WHERE id < 100 ORDER BY id');
    expect(rows.map((row) => row.body)).toEqual(TRICKY);
    expect(rows.map((row) => row.n)).toEqual(TRICKY.map((_, id) => 5 - id * 10));
    expect(rows[0]!.at).toBe('2024-03-04 05:06:07');
    for (const [id, body] of TRICKY.entries()) {
      const found = await ch.query<{ id: number }>(`SELECT id FROM samples WHERE body = ${chString(body)}`);
      expect(found).toEqual([{ id }]);
    }
  });

  it('round-trips values spliced into SQL by the literal helpers', async () => {
    const at = new Date('2023-11-14T22:13:20.999Z');
    const values = TRICKY.map((body, i) =>
      `(${chNumber(1000 + i)}, ${chString(body)}, ${chNumber(-9_007_199_254_740_991n)}, ${chNumber(0.125)}, ${chDateTime(at)})`);
    await ch.exec(`INSERT INTO samples (id, body, n, ratio, at) VALUES ${values.join(', ')}`);
    const rows = await ch.query<{ body: string; n: number; ratio: number; unix: number }>(
      'SELECT body, n, ratio, toUnixTimestamp(at) AS unix FROM samples WHERE id >= 1000 ORDER BY id');
    expect(rows.map((row) => row.body)).toEqual(TRICKY);
    expect(rows.every((row) => row.n === -9_007_199_254_740_991 && row.ratio === 0.125)).toBe(true);
    // DateTime has seconds precision: the milliseconds are dropped, the instant is kept in UTC.
    expect(rows[0]!.unix).toBe(Math.floor(at.getTime() / 1000));
  });

  it('quotes unusual identifiers so they work as table and column names', async () => {
    const table = 'odd table-ü';
    await ch.exec(`CREATE TABLE IF NOT EXISTS ${chIdentifier(table)} (${chIdentifier('the `col`')} String)
      ENGINE = MergeTree() ORDER BY tuple()`);
    await ch.insert(table, [{ 'the `col`': 'v' }]);
    expect(await ch.query(`SELECT ${chIdentifier('the `col`')} AS c FROM ${chIdentifier(table)}`)).toEqual([{ c: 'v' }]);
  });

  it('returns count() as a number and reports server errors with their code', async () => {
    expect(await ch.query('SELECT count() AS c FROM samples')).toEqual([{ c: TRICKY.length * 2 }]);
    const failure = await ch.query('SELECT * FROM no_such_table').then(() => undefined, (error: unknown) => error);
    expect(failure).toBeInstanceOf(ClickHouseQueryError);
    expect((failure as ClickHouseQueryError).code).toBe(60);
  });

  it('names host:port but not the password when the server cannot be reached', async () => {
    const failure = await createClickHouse({ url: 'http://user:s3cret-pw@127.0.0.1:1', database: 'x' })
      .then(() => undefined, (error: unknown) => error as Error);
    expect(failure!.message).toContain('127.0.0.1:1');
    expect(failure!.message).not.toContain('s3cret-pw');
  });
  it('streams rows as they come, rejects early errors before any row, and stops when the reader does', async () => {
    const rows = await ch.stream<{ n: number }>('SELECT number AS n FROM system.numbers LIMIT 200000');
    let seen = 0;
    for await (const row of rows) {
      expect(row.n).toBe(seen);
      seen++;
    }
    expect(seen).toBe(200_000);
    await expect(ch.stream('SELECT no_such_column FROM samples')).rejects.toBeInstanceOf(ClickHouseQueryError);
    // An endless query: breaking out of the loop ends it (the test would hang otherwise).
    let taken = 0;
    for await (const row of await ch.stream<{ n: number }>('SELECT number AS n FROM system.numbers')) {
      if (row.n >= 10) break;
      taken++;
    }
    expect(taken).toBe(10);
  });

  it('answers JSONCompact with column types and statistics, under per-query settings', async () => {
    const result = await ch.queryCompact('SELECT number AS n, toString(number) AS s FROM system.numbers LIMIT 3', { max_result_rows: 10, readonly: 1 });
    expect(result.meta).toEqual([{ name: 'n', type: 'UInt64' }, { name: 's', type: 'String' }]);
    expect(result.data).toEqual([[0, '0'], [1, '1'], [2, '2']]);
    expect(result.statistics?.rows_read).toBeGreaterThan(0);
    // readonly=1 sent last still applies: no write passes.
    await expect(ch.queryCompact(`INSERT INTO samples (id) VALUES (1)`, { readonly: 1 })).rejects.toBeInstanceOf(ClickHouseQueryError);
  });
});
