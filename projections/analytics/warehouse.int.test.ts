// The warehouse against the real ClickHouse: rows and every rollup (kept by ClickHouse's
// materialized views) match the records the real decider wrote, after a crash replayed a batch and
// a whole log was inserted twice; a table of the previous version migrates; no body is stored.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ROOM_EVENTS_TOPIC, isInterestedInUser, type RoomLog } from '../../domain/index.ts';
import { createClickHouse, type ClickHouse } from '../../infra/clickhouse/index.ts';
import { createEmbeddedLog } from '../../infra/embedded/index.ts';
import { chIdentifier, chString } from '../runtime/index.ts';
import { startClickHouseProjection, type RunningClickHouseProjection } from '../runtime/clickhouseProjection.ts';
import {
  CLICKHOUSE_POSITIONS_TABLE, ensureClickHouseSchema, insertRows, storeClickHousePosition, type ClickHouseExecutor,
} from '../runtime/clickhousePositions.ts';
import { analyticsProjection } from './projection.ts';
import { ANALYTICS_EVENTS_TABLE, ANALYTICS_EVENT_COLUMNS, ANALYTICS_ROLLUP_TABLES, ANALYTICS_TABLES } from './schema.ts';
import {
  BRIDGED_ROOM_ID, BRIDGED_USER, BRIDGE_REGISTRATION, SECRET_MARKER, appendRoomRecords, buildScenario, buildWarehouseScenario,
  expectedRollups, type ExpectedRollups,
} from '../../test/builders/analytics/index.ts';

const PARTITIONS = 4;
const projection = analyticsProjection('a.test', [BRIDGE_REGISTRATION]);
const warehouse = buildWarehouseScenario();
const records = [...buildScenario().records, ...warehouse.records];
const expected = expectedRollups(records, (userId) => isInterestedInUser(BRIDGE_REGISTRATION, userId));

let dir: string;
let log: RoomLog;
const opened: { ch: ClickHouse; database: string }[] = [];
const url = (): string => inject('strataTestServices').clickhouseUrl;

const openDatabase = async (name: string): Promise<ClickHouse> => {
  const database = `strata_warehouse_${name}_${process.pid}_${Date.now()}`;
  const ch = await createClickHouse({ url: url(), database });
  opened.push({ ch, database });
  return ch;
};

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'strata-warehouse-'));
  log = await createEmbeddedLog({ dir });
  await log.ensureTopic(ROOM_EVENTS_TOPIC, PARTITIONS);
  await appendRoomRecords(log, records);
});
afterAll(async () => {
  for (const { ch, database } of opened) {
    await ch.exec(`DROP DATABASE IF EXISTS ${chIdentifier(database)}`);
    await ch.close();
  }
  await log?.close();
  await rm(dir, { recursive: true, force: true });
});

const waitUntilCaughtUp = async (running: RunningClickHouseProjection): Promise<void> => {
  for (let p = 0; p < PARTITIONS; p++) {
    const end = await log.endOffset(ROOM_EVENTS_TOPIC, p);
    if (end > 0) expect(await running.waitFor(p, end - 1, 20_000)).toBe(true);
  }
};

const runToEnd = async (ch: ClickHouseExecutor, maxBatchSize?: number): Promise<void> => {
  const running = await startClickHouseProjection({ projection, log, clickhouse: ch, ...(maxBatchSize === undefined ? {} : { maxBatchSize }) });
  await waitUntilCaughtUp(running);
  await running.stop();
};

/** Fails like a process killed after its rows (and so the views' rollups) went in, before the position. */
const crashingBeforePosition = (inner: ClickHouse, okPositions: number): ClickHouseExecutor => {
  let stored = 0;
  return {
    exec: (sql) => inner.exec(sql),
    query: (sql) => inner.query(sql),
    insert: async (table, rows) => {
      if (table === CLICKHOUSE_POSITIONS_TABLE && stored++ >= okPositions) throw new Error('killed before storing the position');
      await inner.insert(table, rows);
    },
  };
};

const dayMs = (column: string): string => `toUInt32(${column}) * 86400000`;
const hourMs = (column: string): string => `toUnixTimestamp(${column}) * 1000`;

/** A rollup merged over the given dimensions: `key → count`, the key joining them with '|'. */
const rollup = async (ch: ClickHouse, table: string, dimensions: readonly string[], measure: string, where = '1'): Promise<Map<string, number>> => {
  const parts = dimensions.map((d) => `toString(${d})`);
  const key = parts.length === 1 ? parts[0]! : `concat(${parts.join(", '|', ")})`;
  const rows = await ch.query<{ k: string; n: string | number }>(`SELECT ${key} AS k,
      uniqExactMerge(${measure}) AS n FROM ${table} WHERE ${where} GROUP BY k`);
  return new Map(rows.map((row) => [row.k, Number(row.n)]));
};

const sorted = (map: Map<string, number>): [string, number][] => [...map].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

const expectRollups = async (ch: ClickHouse, want: ExpectedRollups): Promise<void> => {
  const checks: [keyof ExpectedRollups, () => Promise<Map<string, number>>][] = [
    ['roomHourlyEvents', () => rollup(ch, 'analytics_room_hourly', ['room_id', hourMs('hour'), 'status'], 'events')],
    ['roomHourlySenders', () => rollup(ch, 'analytics_room_hourly', ['room_id', hourMs('hour'), 'status'], 'senders')],
    ['roomDailyEvents', () => rollup(ch, 'analytics_room_daily', ['room_id', dayMs('day'), 'status'], 'events')],
    ['roomDailySenders', () => rollup(ch, 'analytics_room_daily', ['room_id', dayMs('day'), 'status'], 'senders')],
    ['roomDailyTypes', () => rollup(ch, 'analytics_room_daily', ['room_id', dayMs('day'), 'event_type'], 'events', "status = 'accepted'")],
    ['senderDailyEvents', () => rollup(ch, 'analytics_sender_daily', ['sender', dayMs('day'), 'status'], 'events')],
    ['senderDailyRooms', () => rollup(ch, 'analytics_sender_daily', ['sender', dayMs('day'), 'status'], 'rooms')],
    ['serverDailyEvents', () => rollup(ch, 'analytics_server_daily', ['sender_server', dayMs('day'), 'status'], 'events')],
    ['serverDailySenders', () => rollup(ch, 'analytics_server_daily', ['sender_server', dayMs('day'), 'status'], 'senders')],
    ['serverDailyRooms', () => rollup(ch, 'analytics_server_daily', ['sender_server', dayMs('day'), 'status'], 'rooms')],
    ['dailyActiveUsers', () => rollup(ch, 'analytics_active_users_daily', [dayMs('day')], 'users')],
    ['dailyActiveUsersByOrigin', () => rollup(ch, 'analytics_active_users_daily', [dayMs('day'), 'origin'], 'users')],
    ['monthlyActiveUsers', () => rollup(ch, 'analytics_active_users_monthly', [dayMs('month')], 'users')],
    ['redactedHourly', () => rollup(ch, 'analytics_room_redactions_hourly', ['room_id', hourMs('hour')], 'redacted')],
    ['redactedDaily', () => rollup(ch, 'analytics_room_redactions_daily', ['room_id', dayMs('day')], 'redacted')],
  ];
  for (const [name, answer] of checks) expect(sorted(await answer()), name).toEqual(sorted(want[name]));
};

describe('analytics warehouse on ClickHouse', () => {
  let ch: ClickHouse;
  beforeAll(async () => {
    ch = await openDatabase('main');
  });

  it('keeps every rollup exact through a crash replay and a whole log inserted twice', async () => {
    // The scenario holds accepted, soft-failed and rejected remote events, local, bridged and federated senders.
    expect(new Set([...expected.dailyActiveUsersByOrigin.keys()].map((key) => key.split('|')[1]))).toEqual(new Set(['local', 'bridged', 'federated']));
    expect([...expected.roomHourlyEvents.keys()].some((key) => key.endsWith('|soft_failed'))).toBe(true);
    expect([...expected.roomHourlyEvents.keys()].some((key) => key.endsWith('|rejected'))).toBe(true);

    const crashed = await startClickHouseProjection({ projection, log, clickhouse: crashingBeforePosition(ch, 2), maxBatchSize: 3 });
    await expect(crashed.done).rejects.toThrow('killed before storing the position');
    await runToEnd(ch, 3);
    await expectRollups(ch, expected);

    const entries = [];
    for (let p = 0; p < PARTITIONS; p++) entries.push(...await log.read(ROOM_EVENTS_TOPIC, p, 0, 1000));
    await insertRows(ch, projection, entries);
    const physical = await ch.query<{ n: string }>(`SELECT count() AS n FROM ${ANALYTICS_EVENTS_TABLE}`);
    expect(Number(physical[0]!.n)).toBeGreaterThanOrEqual(2 * records.length);
    await expectRollups(ch, expected);
  });

  it('stores the warehouse row of each event', async () => {
    const { ids } = warehouse;
    const rows = await ch.query<Record<string, string | number>>(`SELECT * FROM ${ANALYTICS_EVENTS_TABLE} FINAL
      WHERE room_id = ${chString(BRIDGED_ROOM_ID)} ORDER BY log_offset`);
    expect(rows).toHaveLength(warehouse.records.length);
    const byId = new Map(rows.map((row) => [row.event_id, row]));
    const reply = warehouse.records.find((record) => record.eventId === ids.threadReply);
    if (reply?.type !== 'pdu.accepted') throw new Error('the reply was accepted');
    expect(byId.get(ids.threadReply)).toMatchObject({
      room_version: '11', sender: BRIDGED_USER, sender_server: 'a.test', origin: 'bridged', msgtype: 'm.notice',
      relation_type: 'm.thread', thread_root: ids.threadRoot, status: 'accepted', encrypted: 0,
      content_bytes: Buffer.byteLength(JSON.stringify(reply.pdu.content)),
      origin_server_ts: new Date(Number(reply.pdu.origin_server_ts)).toISOString().slice(0, 19).replace('T', ' '),
    });
    expect(byId.get(ids.encrypted)).toMatchObject({ encrypted: 1, event_type: 'm.room.encrypted', origin: 'local' });
    expect(byId.get(ids.reaction)).toMatchObject({ relation_type: 'm.annotation', thread_root: '' });
    expect(byId.get(ids.oddMsgtype)).toMatchObject({ msgtype: '' });
    const statuses = await ch.query<{ status: string; origin: string; n: string }>(`SELECT status, origin, count() AS n
      FROM ${ANALYTICS_EVENTS_TABLE} FINAL GROUP BY status, origin ORDER BY status, origin`);
    expect(statuses.map((row) => [row.status, row.origin, Number(row.n)])).toEqual([
      // The bridged user's join, thread reply, reaction and message.
      ['accepted', 'bridged', 4],
      ['accepted', 'federated', 1],
      ['accepted', 'local', records.length - 7],
      ['rejected', 'federated', 1],
      ['soft_failed', 'federated', 1],
    ]);
  });

  it('stores no body, name, topic, display name, reason, reaction key or ciphertext in any column of any table', async () => {
    const tables = await ch.query<{ name: string }>('SELECT name FROM system.tables WHERE database = currentDatabase() ORDER BY name');
    expect(tables.map((t) => t.name)).toEqual(expect.arrayContaining([...ANALYTICS_TABLES, CLICKHOUSE_POSITIONS_TABLE]));
    let cells = 0;
    for (const { name } of tables) {
      const rows = await ch.query<Record<string, unknown>>(`SELECT * FROM ${chIdentifier(name)}`);
      for (const row of rows) {
        for (const value of Object.values(row)) {
          cells++;
          expect(String(value), `${name}`).not.toContain(SECRET_MARKER);
        }
      }
    }
    expect(cells).toBeGreaterThan(1000);
    // The rollups' sets, finalized, hold counts only.
    for (const table of ANALYTICS_ROLLUP_TABLES) {
      const rows = await ch.query<Record<string, unknown>>(`SELECT * FROM ${chIdentifier(table)}`);
      expect(rows.length, table).toBeGreaterThan(0);
    }
  });

  it('inserts the partitions\' batches together: rows and positions of several partitions per INSERT, rollups exact', async () => {
    const together = await openDatabase('together');
    const positionInserts: number[] = [];
    const counting: ClickHouseExecutor = {
      exec: (sql) => together.exec(sql),
      query: (sql) => together.query(sql),
      insert: async (table, rows) => {
        if (table === CLICKHOUSE_POSITIONS_TABLE) positionInserts.push(rows.length);
        await together.insert(table, rows);
      },
    };
    const maxBatchSize = 3;
    let batches = 0;
    for (let p = 0; p < PARTITIONS; p++) batches += Math.ceil(await log.endOffset(ROOM_EVENTS_TOPIC, p) / maxBatchSize);
    const running = await startClickHouseProjection({ projection, log, clickhouse: counting, maxBatchSize, batchLimits: { maxRows: 10_000, lingerMs: 200 } });
    await waitUntilCaughtUp(running);
    await running.stop();
    expect(positionInserts.length).toBeLessThan(batches);
    expect(Math.max(...positionInserts)).toBeGreaterThan(1);
    await expectRollups(together, expected);
  });

  it('rebuilds every rollup from offset 0 when the version changes', async () => {
    const next = { ...projection, version: projection.version + 1 };
    const running = await startClickHouseProjection({ projection: next, log, clickhouse: ch });
    await waitUntilCaughtUp(running);
    await running.stop();
    const physical = await ch.query<{ n: string }>(`SELECT count() AS n FROM ${ANALYTICS_EVENTS_TABLE}`);
    expect(Number(physical[0]!.n)).toBe(records.length);
    await expectRollups(ch, expected);
  });

  it('migrates a table of the previous version and rebuilds; the migration is idempotent', async () => {
    const old = await openDatabase('v2');
    await old.exec(`CREATE TABLE ${ANALYTICS_EVENTS_TABLE} (log_partition UInt32, log_offset UInt64, room_id String, event_id String,
      event_type String, has_state_key UInt8, membership String, sender String, sender_server String, origin_server_ts DateTime('UTC'),
      origin_server_ms UInt64, accepted_at DateTime('UTC'), is_local UInt8, status String
    ) ENGINE = ReplacingMergeTree() PARTITION BY toYYYYMM(accepted_at) ORDER BY (log_partition, log_offset)`);
    await old.insert(ANALYTICS_EVENTS_TABLE, [{
      log_partition: 0, log_offset: 0, room_id: '!old:a.test', event_id: '$old', event_type: 'm.room.message', has_state_key: 0,
      membership: '', sender: '@a:a.test', sender_server: 'a.test', origin_server_ts: '2024-01-01 00:00:00', origin_server_ms: 0,
      accepted_at: '2024-01-01 00:00:00', is_local: 1, status: 'accepted',
    }]);
    await ensureClickHouseSchema(old, { ...projection, version: 2 });
    await storeClickHousePosition(old, { ...projection, version: 2 }, 0, 1);

    await runToEnd(old);
    await ensureClickHouseSchema(old, projection);
    const columns = await old.query<{ name: string }>(`SELECT name FROM system.columns
      WHERE database = currentDatabase() AND table = ${chString(ANALYTICS_EVENTS_TABLE)} ORDER BY name`);
    expect(columns.map((c) => c.name)).toEqual(ANALYTICS_EVENT_COLUMNS.map(([name]) => name).sort());
    const stale = await old.query<{ n: string }>(`SELECT count() AS n FROM ${ANALYTICS_EVENTS_TABLE} WHERE room_id = '!old:a.test'`);
    expect(stale).toEqual([{ n: expect.anything() }]);
    expect(Number(stale[0]!.n)).toBe(0);
    await expectRollups(old, expected);
  });
});
