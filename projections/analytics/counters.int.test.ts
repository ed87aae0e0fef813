// The live counters' queries against the real ClickHouse: the windows (last minute, last hour,
// today from 00:00 UTC, also just after midnight), accepted events only, nothing from the future,
// and a replayed row (same log position, same event) counted once without FINAL.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createClickHouse, type ClickHouse } from '../../infra/clickhouse/index.ts';
import { chIdentifier, formatDateTimeUtc } from '../runtime/index.ts';
import { ensureClickHouseSchema } from '../runtime/clickhousePositions.ts';
import { createClickHouseCountersReadModel } from './counters.ts';
import { analyticsProjection } from './projection.ts';
import { ANALYTICS_EVENTS_TABLE } from './schema.ts';

const NOON = Date.UTC(2026, 0, 10, 12, 0, 0);
const AFTER_MIDNIGHT = Date.UTC(2026, 0, 11, 0, 20, 0);
let offset = 0;

/** One analytics_events row; `ts` is origin_server_ts, received a second later. */
const row = (eventId: string, ts: number, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  log_partition: 0, log_offset: offset++, room_id: '!r1:a.test', room_version: '11', event_id: eventId, event_type: 'm.room.message',
  msgtype: 'm.text', has_state_key: 0, membership: '', encrypted: 0, relation_type: '', thread_root: '', content_bytes: 10,
  sender: '@a:a.test', sender_server: 'a.test', origin: 'local', origin_server_ts: formatDateTimeUtc(ts), origin_server_ms: ts,
  accepted_at: formatDateTimeUtc(ts + 1_000), status: 'accepted', ...extra,
});

describe('analytics counters over ClickHouse', () => {
  const database = `strata_counters_${process.pid}_${Date.now()}`;
  let ch: ClickHouse;

  beforeAll(async () => {
    ch = await createClickHouse({ url: inject('strataTestServices').clickhouseUrl, database });
    await ensureClickHouseSchema(ch, analyticsProjection('a.test', []));
    const recent = row('$recent', NOON - 30_000);
    await ch.insert(ANALYTICS_EVENTS_TABLE, [
      recent,
      row('$half_hour', NOON - 30 * 60_000, { sender: '@b:b.test', sender_server: 'b.test' }),
      row('$morning', NOON - 5 * 3_600_000, { sender: '@c:b.test', room_id: '!r2:a.test', event_type: 'm.room.member', msgtype: '', has_state_key: 1 }),
      row('$yesterday', NOON - 13 * 3_600_000, { sender: '@d:a.test', room_id: '!r3:a.test' }),
      row('$soft_failed', NOON - 10_000, { status: 'soft_failed', sender: '@e:c.test' }),
      row('$future', NOON + 60_000, { sender: '@f:c.test' }),
      row('$late_evening', AFTER_MIDNIGHT - 40 * 60_000, { sender: '@g:a.test', room_id: '!r4:a.test', event_type: 'm.reaction', msgtype: '' }),
    ]);
    // A replayed batch: the same row again (ReplacingMergeTree has not merged it away yet).
    await ch.insert(ANALYTICS_EVENTS_TABLE, [recent]);
  });
  afterAll(async () => {
    await ch?.exec(`DROP DATABASE IF EXISTS ${chIdentifier(database)}`);
    await ch?.close();
  });

  it('counts accepted events in each window once, by origin_server_ts up to now', async () => {
    const counters = await createClickHouseCountersReadModel(ch).counters(NOON);
    expect(counters).toEqual({
      ts: NOON, eventsLastMinute: 1, eventsLastHour: 2, eventsToday: 3, sendersToday: 3, roomsToday: 2,
      byTypeLastHour: { 'm.room.message': 2 },
    });
  });

  it('keeps the last hour across midnight while today starts again', async () => {
    const counters = await createClickHouseCountersReadModel(ch).counters(AFTER_MIDNIGHT);
    expect(counters).toEqual({
      ts: AFTER_MIDNIGHT, eventsLastMinute: 0, eventsLastHour: 1, eventsToday: 0, sendersToday: 0, roomsToday: 0,
      byTypeLastHour: { 'm.reaction': 1 },
    });
  });
});
