import { describe, expect, it } from 'vitest';
import { MatrixError } from '../../domain/index.ts';
import { guardAnalystSql, tokenizeSql } from './queriesSqlGuard.ts';
import { ANALYTICS_TABLES } from './schema.ts';

const scope = { database: 'strata_db', tables: ANALYTICS_TABLES };

const refusal = (sql: string): string => {
  try {
    guardAnalystSql(sql, scope);
  } catch (error) {
    if (error instanceof MatrixError) {
      expect(error).toMatchObject({ errcode: 'M_INVALID_PARAM', status: 400 });
      return error.message;
    }
    throw error;
  }
  throw new Error(`accepted: ${sql}`);
};

describe('analyst SQL tokenizer', () => {
  it('reads strings, quoted identifiers and comments as ClickHouse does', () => {
    expect(tokenizeSql(`SELECT 'it''s \\' system.tables', \`a\\\`b\`, "c""d" -- system.tables\n/* system */ FROM x`)).toEqual([
      { kind: 'word', text: 'SELECT' },
      { kind: 'string', text: "it's ' system.tables" },
      { kind: 'punct', text: ',' },
      { kind: 'quoted', text: 'a`b' },
      { kind: 'punct', text: ',' },
      { kind: 'quoted', text: 'c"d' },
      { kind: 'word', text: 'FROM' },
      { kind: 'word', text: 'x' },
    ]);
    expect(tokenizeSql('a>=1.5e-3')).toEqual([
      { kind: 'word', text: 'a' }, { kind: 'punct', text: '>=' }, { kind: 'number', text: '1.5e-3' },
    ]);
  });
});

describe('analyst SQL guard', () => {
  it.each([
    'SELECT count() FROM analytics_events FINAL',
    'select room_id, count() AS n from analytics_events final where event_type = \'system.tables\' group by room_id order by n desc limit 5;',
    "SELECT 'FROM system.tables; DROP TABLE x' AS s",
    'SELECT e.room_id FROM analytics_events AS e INNER JOIN analytics_redactions r ON e.event_id = r.redacts_event_id',
    'SELECT day, uniqExactMerge(users) FROM strata_db.analytics_active_users_daily GROUP BY day',
    'SELECT * FROM (SELECT room_id FROM analytics_events) WHERE room_id IN (SELECT room_id FROM analytics_room_daily)',
    'SELECT count() FROM analytics_events, analytics_redactions',
    'SELECT x FROM analytics_events ARRAY JOIN [1, 2] AS x',
    'WITH 5 AS n SELECT n',
    'SELECT event_id FROM analytics_events WHERE room_id IN analytics_room_daily',
    'SELECT `analytics_events`.room_id FROM `analytics_events`',
    'SELECT 1 -- a comment; DROP TABLE x',
    `SELECT ${'('.repeat(64)}1${')'.repeat(64)}`,
    "SELECT count() FROM analytics_events WHERE room_id IN ('!a:b', '!c:d') AND status NOT IN ('rejected')",
    'SELECT count() FROM analytics_events AS e LEFT JOIN analytics_redactions AS r ON e.event_id = r.redacts_event_id WHERE e.room_id IN (SELECT room_id FROM analytics_room_daily)',
    'SELECT count() FROM analytics_events FINAL WHERE room_id IN (analytics_room_daily)',
    "SELECT format('{} in {}', sender, room_id) FROM analytics_events",
    'WITH recent AS (SELECT room_id FROM analytics_events) SELECT recent.room_id FROM recent',
  ])('accepts %s', (sql) => {
    expect(() => guardAnalystSql(sql, scope)).not.toThrow();
  });

  it('returns the statement without its trailing semicolon', () => {
    expect(guardAnalystSql('SELECT 1 ;', scope)).toBe('SELECT 1 ');
  });

  it.each([
    ['SELECT * FROM system.tables', 'system'],
    ['SELECT * FROM /* */ system . tables', 'system'],
    ['SELECT * FROM `system`.`tables`', 'system'],
    ['SELECT * FROM "SYSTEM".tables', 'SYSTEM'],
    ['SELECT * FROM information_schema.tables', 'information_schema'],
    ['SELECT * FROM default.secrets', 'analytics database'],
    ['SELECT * FROM other_db.analytics_events', 'analytics database'],
    ['SELECT * FROM strata_db.projection_positions', 'not one of the analytics tables'],
    ['SELECT * FROM projection_positions', 'not one of the analytics tables'],
    ['SELECT * FROM analytics_events JOIN users ON 1', 'not one of the analytics tables'],
    ['SELECT * FROM analytics_events, secrets', 'not one of the analytics tables'],
    ['SELECT 1 FROM analytics_events WHERE room_id IN other.table_x', 'analytics database'],
    ['SELECT 1 FROM analytics_events FINAL, projection_positions', 'not one of the analytics tables'],
    ['SELECT 1 FROM analytics_events AS e, projection_positions', 'not one of the analytics tables'],
    ['SELECT 1 FROM (SELECT 1) AS t, projection_positions', 'not one of the analytics tables'],
    ['SELECT 1 FROM analytics_events WHERE room_id IN (projection_positions)', 'not one of the analytics tables'],
    ['SELECT 1 FROM analytics_events WHERE room_id NOT IN (other.t)', 'analytics database'],
    ['SELECT 1 AS default FROM analytics_events WHERE in(room_id, default.secrets)', 'room_id is not one of the analytics tables'],
    ['SELECT 1 AS default FROM analytics_events WHERE in(analytics_events, default.secrets)', 'analytics database'],
    ['SELECT 1 FROM analytics_events WHERE globalNotIn(room_id, projection_positions)', 'not one of the analytics tables'],
    ['SELECT other.x FROM analytics_events', 'neither an analytics table nor an alias'],
    ["SELECT * FROM url('http://169.254.169.254/', CSV, 'a String')", 'url'],
    ["SELECT * FROM file('/etc/passwd', CSV, 'a String')", 'file'],
    ["SELECT * FROM remote('127.0.0.1', default.t)", 'remote'],
    ["SELECT * FROM mysql('h:3306', 'db', 't', 'u', 'p')", 'mysql'],
    ["SELECT * FROM jdbc('x', 'y')", 'jdbc'],
    ["SELECT * FROM s3('https://b/x', 'CSV')", 's3'],
    ['SELECT * FROM input(\'a String\')', 'input'],
    ['SELECT * FROM numbers(10)', 'table functions'],
    ['SELECT * FROM analytics_events WHERE room_id IN (SELECT * FROM url(\'x\', CSV))', 'url'],
    ["SELECT dictGet('d', 'a', toUInt64(1))", 'dictGet'],
    ["SELECT joinGet('db.t', 'c', 1)", 'joinGet'],
    ['SELECT 1 SETTINGS readonly = 0', 'SETTINGS'],
    ['SELECT 1 FORMAT TabSeparated', 'FORMAT'],
    ["SELECT 1 INTO OUTFILE '/tmp/x'", 'INTO'],
    ['INSERT INTO analytics_events VALUES (1)', 'SELECT'],
    ['ALTER TABLE analytics_events DELETE WHERE 1', 'SELECT'],
    ['DROP TABLE analytics_events', 'SELECT'],
    ['CREATE TABLE x (a UInt8) ENGINE = Memory', 'SELECT'],
    ['KILL QUERY WHERE 1', 'SELECT'],
    ['SYSTEM SHUTDOWN', 'SELECT'],
    ['OPTIMIZE TABLE analytics_events FINAL', 'SELECT'],
    ['SET readonly = 0', 'SELECT'],
    ['SELECT 1; SELECT 2', 'one statement'],
    ['SELECT 1; DROP TABLE analytics_events', 'one statement'],
    ['SELECT 1 # comment', 'character'],
    ['SELECT $$x$$', 'character'],
    ['SELECT {p:String}', 'character'],
    ["SELECT 'unterminated", 'unterminated'],
    ['SELECT 1 /* open', 'unterminated'],
    ['SELECT 1 /* /* nested */ system.tables */', 'comment inside a comment'],
    [`SELECT ${'('.repeat(65)}1${')'.repeat(65)}`, 'nested deeper than 64'],
    [`SELECT ${'(['.repeat(33)}1${'])'.repeat(33)}`, 'nested deeper than 64'],
    ['', 'empty'],
    [';', 'empty'],
  ])('refuses %s', (sql, reason) => {
    expect(refusal(sql)).toContain(reason);
  });
});
