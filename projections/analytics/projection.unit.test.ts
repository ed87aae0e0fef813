import { describe, expect, it } from 'vitest';
import { ROOM_EVENTS_TOPIC, type LogEntry, type LogValue, type RoomRecord } from '../../domain/index.ts';
import { freshEntries } from '../runtime/clickhousePositions.ts';
import { ANALYTICS_PROJECTION, analyticsRows, serverOfUserId } from './projection.ts';
import { SECRET_MARKER, buildScenario } from '../../test/builders/analytics/index.ts';

const entryOf = (record: RoomRecord | LogValue, offset = 0): LogEntry => ({
  topic: ROOM_EVENTS_TOPIC, partition: 1, offset, key: 'k', value: record as LogValue, headers: {}, timestamp: 0,
});

describe('analytics rows', () => {
  const { records } = buildScenario();

  it('copies metadata only: no body, reason or state key', () => {
    const rows = records.flatMap((record, offset) => analyticsRows(entryOf(record, offset)));
    expect(rows.filter((row) => row.table === 'analytics_events')).toHaveLength(records.length);
    const text = JSON.stringify(rows);
    expect(text).not.toContain(SECRET_MARKER);
    const reasons = records.flatMap((r) => (r.type === 'pdu.accepted' || r.type === 'pdu.outlier' ? [] : [r.reason]));
    expect(reasons).toHaveLength(2);
    for (const reason of reasons) expect(text).not.toContain(reason);
    expect(Object.keys(rows[0]!.row).sort()).toEqual([
      'accepted_at', 'event_id', 'event_type', 'has_state_key', 'is_local', 'log_offset', 'log_partition', 'membership',
      'origin_server_ms', 'origin_server_ts', 'room_id', 'sender', 'sender_server', 'status',
    ]);
  });

  it('marks redactions, remote events and statuses', () => {
    const redaction = records.find((r) => r.type === 'pdu.accepted' && r.pdu.type === 'm.room.redaction')!;
    const rows = analyticsRows(entryOf(redaction, 7));
    expect(rows[1]).toEqual({
      table: 'analytics_redactions',
      row: expect.objectContaining({ log_partition: 1, log_offset: 7, redaction_event_id: redaction.eventId, redacts_event_id: (redaction as unknown as { pdu: { redacts: string } }).pdu.redacts }),
    });
    const rejected = analyticsRows(entryOf(records.find((r) => r.type === 'pdu.rejected')!))[0]!.row;
    expect(rejected).toMatchObject({ status: 'rejected', event_type: '', sender: '', is_local: 0 });
    const softFailed = analyticsRows(entryOf(records.find((r) => r.type === 'pdu.softFailed')!))[0]!.row;
    expect(softFailed).toMatchObject({ status: 'soft_failed', sender: '@carol:b.test', sender_server: 'b.test', is_local: 0 });
    const ban = records.find((r) => r.type === 'pdu.accepted' && r.pdu.content && (r.pdu.content as { membership?: string }).membership === 'ban')!;
    expect(analyticsRows(entryOf(ban))[0]!.row).toMatchObject({ membership: 'ban', has_state_key: 1, is_local: 1 });
  });

  it('clamps times a remote clock got wrong and fails loudly on unknown records', () => {
    const record = records.find((r) => r.type === 'pdu.accepted' && r.pdu.type === 'm.room.message')!;
    const future = { ...record, pdu: { ...(record as { pdu: object }).pdu, origin_server_ts: 9e15 } } as RoomRecord;
    expect(analyticsRows(entryOf(future))[0]!.row).toMatchObject({ origin_server_ts: '2105-12-31 23:59:59', origin_server_ms: 9e15 });
    expect(() => analyticsRows(entryOf({ type: 'pdu.accepted', v: 2, roomId: '!r:a.test' }))).toThrow('unknown record');
    expect(serverOfUserId('@a:b.test:8448')).toBe('b.test:8448');
  });

  it('takes only the next offsets of a batch and refuses holes', () => {
    const entries = [0, 1, 2, 3].map((offset) => entryOf({ n: offset }, offset));
    expect(freshEntries(ANALYTICS_PROJECTION, 1, 2, entries).map((e) => e.offset)).toEqual([2, 3]);
    expect(freshEntries(ANALYTICS_PROJECTION, 1, 9, entries)).toEqual([]);
    expect(() => freshEntries(ANALYTICS_PROJECTION, 1, 0, [entries[0]!, entries[2]!])).toThrow('refusing to skip');
  });
});
