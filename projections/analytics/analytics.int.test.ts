// The analytics view against the real ClickHouse: records from the real decider on the embedded log,
// the projection crashed between rows and position, restarted and replayed; answers stay exact.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { MAX_TIME_MS, type CountsGroupBy, type EventCountsQuery } from '../../domain/app/analytics/index.ts';
import { ROOM_EVENTS_TOPIC, type RoomLog } from '../../domain/index.ts';
import { createClickHouse, type ClickHouse } from '../../infra/clickhouse/index.ts';
import { chIdentifier, chString } from '../runtime/index.ts';
import { createEmbeddedLog } from '../../infra/embedded/index.ts';
import { startClickHouseProjection, type RunningClickHouseProjection } from '../runtime/clickhouseProjection.ts';
import {
  CLICKHOUSE_POSITIONS_TABLE, ensureClickHouseSchema, insertRows, loadClickHousePositions, type ClickHouseExecutor,
} from '../runtime/clickhousePositions.ts';
import { analyticsProjection } from './projection.ts';
import { createClickHouseAnalyticsReadModel } from './queries.ts';
import { ANALYTICS_EVENTS_TABLE, ANALYTICS_REDACTIONS_TABLE } from './schema.ts';
import {
  PLAIN_ROOM_ID, SECRET_MARKER, TRICKY_ROOM_ID, TRICKY_TYPE, appendRoomRecords, buildScenario, byKey,
  expectedActivity, expectedCounts, TestRoom,
} from '../../test/builders/analytics/index.ts';

const PARTITIONS = 4;
const ALL_TIME = { from: 0, to: MAX_TIME_MS + 1 };
const scenario = buildScenario();
const ANALYTICS_PROJECTION = analyticsProjection('a.test', []);

let dir: string;
let log: RoomLog;
let ch: ClickHouse;
const database = `strata_analytics_${process.pid}_${Date.now()}`;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'strata-analytics-'));
  log = await createEmbeddedLog({ dir });
  await log.ensureTopic(ROOM_EVENTS_TOPIC, PARTITIONS);
  ch = await createClickHouse({ url: inject('strataTestServices').clickhouseUrl, database });
  await ensureClickHouseSchema(ch, ANALYTICS_PROJECTION);
  // Keep replayed duplicates on disk, so the answers below must deduplicate at query time.
  for (const table of [ANALYTICS_EVENTS_TABLE, ANALYTICS_REDACTIONS_TABLE]) {
    await ch.exec(`SYSTEM STOP MERGES ${chIdentifier(database)}.${chIdentifier(table)}`);
  }
  await appendRoomRecords(log, scenario.records);
});
afterAll(async () => {
  await ch?.exec(`DROP DATABASE IF EXISTS ${chIdentifier(database)}`);
  await ch?.close();
  await log?.close();
  await rm(dir, { recursive: true, force: true });
});

const waitUntilCaughtUp = async (running: RunningClickHouseProjection): Promise<void> => {
  for (let p = 0; p < PARTITIONS; p++) {
    const end = await log.endOffset(ROOM_EVENTS_TOPIC, p);
    if (end > 0) expect(await running.waitFor(p, end - 1, 20_000)).toBe(true);
  }
};

/** Stores `okPositions` positions, then fails like a process killed after its rows went in. */
const crashingBeforePosition = (inner: ClickHouse, okPositions: number): ClickHouseExecutor => {
  let stored = 0;
  return {
    exec: (sql) => inner.exec(sql),
    query: (sql) => inner.query(sql),
    insert: async (table, rows) => {
      // A RangeError is a programming error to the supervisor: the consumer stops at once, as a killed
      // process would, rather than retrying (each retry would add parts while merges are stopped).
      if (table === CLICKHOUSE_POSITIONS_TABLE && stored++ >= okPositions) throw new RangeError('killed before storing the position');
      await inner.insert(table, rows);
    },
  };
};

const physicalRows = async (table: string): Promise<number> =>
  (await ch.query<{ n: number }>(`SELECT count() AS n FROM ${table}`))[0]!.n;

const countsQuery = (groupBy: CountsGroupBy, extra: Partial<EventCountsQuery> = {}): EventCountsQuery =>
  ({ groupBy, status: 'accepted', ...ALL_TIME, limit: 1000, ...extra });

const expectExactAnswers = async (): Promise<void> => {
  const readModel = createClickHouseAnalyticsReadModel(ch);
  for (const groupBy of ['type', 'sender', 'room', 'server', 'hour', 'day'] as const) {
    for (const status of ['accepted', 'soft_failed', 'rejected'] as const) {
      const query = countsQuery(groupBy, { status });
      const rows = await readModel.eventCounts(query);
      expect(byKey(rows), `${groupBy}/${status}`).toEqual(byKey(expectedCounts(scenario.records, query)));
    }
  }
  for (const bucket of ['hour', 'day'] as const) {
    for (const roomId of [PLAIN_ROOM_ID, TRICKY_ROOM_ID]) {
      const query = { roomId, bucket, ...ALL_TIME, limit: 10_000 };
      expect(await readModel.roomActivity(query)).toEqual(expectedActivity(scenario.records, query));
    }
  }
};

describe('analytics projection on ClickHouse', () => {
  it('survives a crash between rows and position: the replayed batch counts once', async () => {
    const crashed = await startClickHouseProjection({
      // One batch per INSERT, so the crash lands after exactly two of them.
      projection: ANALYTICS_PROJECTION, log, clickhouse: crashingBeforePosition(ch, 2), maxBatchSize: 3,
      batchLimits: { maxRows: 1, lingerMs: 0 },
    });
    await expect(crashed.done).rejects.toThrow('killed before storing the position');
    const positions = await loadClickHousePositions(ch, ANALYTICS_PROJECTION);
    expect([...positions.values()].reduce((a, b) => a + b, 0)).toBe(6); // two batches of three
    const afterCrash = await physicalRows(ANALYTICS_EVENTS_TABLE);
    expect(afterCrash).toBeGreaterThan(6); // the killed batch's rows are in, its position is not

    const restarted = await startClickHouseProjection({ projection: ANALYTICS_PROJECTION, log, clickhouse: ch, maxBatchSize: 3 });
    await waitUntilCaughtUp(restarted);
    await restarted.stop();
    expect(await physicalRows(ANALYTICS_EVENTS_TABLE)).toBeGreaterThan(scenario.records.length); // duplicates on disk
    const distinct = await ch.query<{ n: number }>(`SELECT count() AS n FROM ${ANALYTICS_EVENTS_TABLE} FINAL`);
    expect(distinct).toEqual([{ n: scenario.records.length }]);
    await expectExactAnswers();
  });

  it('re-inserting every row of a replayed log doubles no answer', async () => {
    const entries = [];
    for (let p = 0; p < PARTITIONS; p++) entries.push(...await log.read(ROOM_EVENTS_TOPIC, p, 0, 1000));
    await insertRows(ch, ANALYTICS_PROJECTION, entries);
    expect(await physicalRows(ANALYTICS_EVENTS_TABLE)).toBeGreaterThanOrEqual(2 * scenario.records.length);
    await expectExactAnswers();
  });

  it('resumes from the stored position after a restart and applies only new records', async () => {
    const before = await loadClickHousePositions(ch, ANALYTICS_PROJECTION);
    const more = new TestRoom(Date.UTC(2024, 2, 5, 12));
    more.create('!later:a.test', '@erin:a.test');
    more.send('@erin:a.test', 'm.room.message', { body: `${SECRET_MARKER} later` });
    await appendRoomRecords(log, more.records);
    const physicalBefore = await physicalRows(ANALYTICS_EVENTS_TABLE);

    const running = await startClickHouseProjection({ projection: ANALYTICS_PROJECTION, log, clickhouse: ch });
    const partition = await log.partitionFor(ROOM_EVENTS_TOPIC, '!later:a.test');
    expect(running.position(partition)).toBe(before.get(partition) ?? 0);
    await waitUntilCaughtUp(running);
    await running.stop();
    expect(await physicalRows(ANALYTICS_EVENTS_TABLE)).toBe(physicalBefore + more.records.length);
    const rooms = await createClickHouseAnalyticsReadModel(ch).eventCounts(countsQuery('room', { roomId: '!later:a.test' }));
    expect(rooms).toEqual([{ key: '!later:a.test', count: 5, redacted: 0 }]);
    scenario.records.push(...more.records);
    await expectExactAnswers();
  });

  it('filters by room, type and time with quotes and backslashes escaped', async () => {
    const readModel = createClickHouseAnalyticsReadModel(ch);
    const byType = await readModel.eventCounts(countsQuery('type', { roomId: TRICKY_ROOM_ID }));
    expect(byType).toEqual([
      { key: 'm.room.message', count: 6, redacted: 1 },
      { key: 'm.room.member', count: 2, redacted: 0 },
      { key: TRICKY_TYPE, count: 1, redacted: 0 },
      { key: 'm.room.create', count: 1, redacted: 0 },
      { key: 'm.room.join_rules', count: 1, redacted: 0 },
      { key: 'm.room.power_levels', count: 1, redacted: 0 },
      { key: 'm.room.redaction', count: 1, redacted: 0 },
    ].sort((a, b) => b.count - a.count || (a.key < b.key ? -1 : 1)));
    expect(await readModel.eventCounts(countsQuery('room', { type: TRICKY_TYPE }))).toEqual([{ key: TRICKY_ROOM_ID, count: 1, redacted: 0 }]);
    expect(await readModel.eventCounts(countsQuery('room', { type: "x' OR '1'='1" }))).toEqual([]);
    expect(await readModel.eventCounts(countsQuery('room', { roomId: "!x' OR 1=1 --:a.test" }))).toEqual([]);
    // Times are exact to the millisecond: createRoom stamps its five events with one instant.
    const start = scenario.tricky.records[0]!;
    const ts = start.type === 'pdu.rejected' ? 0 : Number(start.pdu.origin_server_ts);
    const inRoom = (from: number, to: number) => readModel.eventCounts(countsQuery('type', { roomId: TRICKY_ROOM_ID, from, to }));
    expect(await inRoom(ts, ts + 1)).toEqual([
      { key: 'm.room.member', count: 2, redacted: 0 },
      { key: 'm.room.create', count: 1, redacted: 0 },
      { key: 'm.room.join_rules', count: 1, redacted: 0 },
      { key: 'm.room.power_levels', count: 1, redacted: 0 },
    ]);
    expect(await inRoom(ts - 1000, ts)).toEqual([]);
    expect(await inRoom(ts + 1, ts + 60_000)).toEqual([]);
    expect(await inRoom(ts + 60_000, ts + 60_001)).toEqual([{ key: 'm.room.message', count: 1, redacted: 0 }]);
    const found = await ch.query<{ n: number }>(
      `SELECT count() AS n FROM ${ANALYTICS_EVENTS_TABLE} FINAL WHERE room_id = ${chString(TRICKY_ROOM_ID)} AND event_type = ${chString(TRICKY_TYPE)}`);
    expect(found).toEqual([{ n: 1 }]);
  });

  it('records metadata only: no message body reaches ClickHouse', async () => {
    let cells = 0;
    for (const table of [ANALYTICS_EVENTS_TABLE, ANALYTICS_REDACTIONS_TABLE, CLICKHOUSE_POSITIONS_TABLE]) {
      const rows = await ch.query<Record<string, unknown>>(`SELECT * FROM ${table}`);
      expect(rows.length).toBeGreaterThan(0);
      for (const row of rows) {
        for (const value of Object.values(row)) {
          cells++;
          expect(String(value)).not.toContain(SECRET_MARKER);
          expect(String(value)).not.toContain('quoted');
        }
      }
    }
    expect(cells).toBeGreaterThan(100);
    const columns = await ch.query<{ name: string }>(`SELECT name FROM system.columns
      WHERE database = ${chString(database)} AND table = ${chString(ANALYTICS_EVENTS_TABLE)} ORDER BY name`);
    expect(columns.map((c) => c.name)).not.toContain('content');
    const members = await ch.query<{ membership: string; n: number }>(`SELECT membership, count() AS n
      FROM ${ANALYTICS_EVENTS_TABLE} FINAL WHERE event_type = 'm.room.member' GROUP BY membership ORDER BY membership`);
    expect(members).toEqual([{ membership: 'ban', n: 1 }, { membership: 'join', n: 5 }]);
  });

  it('rebuilds from offset 0 when the projection version changes', async () => {
    const v2 = { ...ANALYTICS_PROJECTION, version: ANALYTICS_PROJECTION.version + 1 };
    const running = await startClickHouseProjection({ projection: v2, log, clickhouse: ch });
    await waitUntilCaughtUp(running);
    await running.stop();
    // TRUNCATE dropped the duplicates; the replay wrote each record once.
    expect(await physicalRows(ANALYTICS_EVENTS_TABLE)).toBe(scenario.records.length);
    await expectExactAnswers();
    const again = await startClickHouseProjection({ projection: v2, log, clickhouse: ch });
    await waitUntilCaughtUp(again);
    await again.stop();
    expect(await physicalRows(ANALYTICS_EVENTS_TABLE)).toBe(scenario.records.length);
  });
});
