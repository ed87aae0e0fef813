import { describe, expect, it } from 'vitest';
import { ROOM_EVENTS_TOPIC, type LogEntry, type LogValue, type RoomRecord } from '../../domain/index.ts';
import { freshEntries } from '../runtime/clickhousePositions.ts';
import { analyticsProjection, analyticsRows as rowsFor, serverOfUserId } from './projection.ts';
import {
  BRIDGED_USER, BRIDGE_REGISTRATION, SECRET_MARKER, buildScenario, buildWarehouseScenario,
} from '../../test/builders/analytics/index.ts';
import { ANALYTICS_ROLLUP_VIEWS, ANALYTICS_SCHEMA } from './schema.ts';

const entryOf = (record: RoomRecord | LogValue, offset = 0): LogEntry => ({
  topic: ROOM_EVENTS_TOPIC, partition: 1, offset, key: 'k', value: record as LogValue, headers: {}, timestamp: 0,
});

const ANALYTICS_PROJECTION = analyticsProjection('a.test', []);
const analyticsRows = (entry: LogEntry) => rowsFor(entry, 'a.test', []);

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
      'accepted_at', 'content_bytes', 'encrypted', 'event_id', 'event_type', 'has_state_key', 'log_offset', 'log_partition',
      'membership', 'msgtype', 'origin', 'origin_server_ms', 'origin_server_ts', 'relation_type', 'room_id', 'room_version',
      'sender', 'sender_server', 'status', 'thread_root',
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
    expect(rejected).toMatchObject({ status: 'rejected', event_type: '', sender: '', origin: 'federated', room_version: '', content_bytes: 0 });
    const softFailed = analyticsRows(entryOf(records.find((r) => r.type === 'pdu.softFailed')!))[0]!.row;
    expect(softFailed).toMatchObject({ status: 'soft_failed', sender: '@carol:b.test', sender_server: 'b.test', origin: 'federated', room_version: '10' });
    const ban = records.find((r) => r.type === 'pdu.accepted' && r.pdu.content && (r.pdu.content as { membership?: string }).membership === 'ban')!;
    expect(analyticsRows(entryOf(ban))[0]!.row).toMatchObject({ membership: 'ban', has_state_key: 1, origin: 'local' });
  });

  it('classes an event by its sender\'s server, whichever way it reached the log', () => {
    const ban = records.find((r): r is Extract<RoomRecord, { type: 'pdu.accepted' }> => r.type === 'pdu.accepted' && (r.pdu.content as { membership?: string }).membership === 'ban')!;
    // Our user's invite of a remote user, signed by the invitee's server first, is ingested like a remote PDU.
    const ingested = { ...ban, local: null } as RoomRecord;
    expect(analyticsRows(entryOf(ingested))[0]!.row).toMatchObject({ origin: 'local' });
    const remote = { ...ban, pdu: { ...ban.pdu, sender: '@dan:b.test' }, local: null } as RoomRecord;
    expect(analyticsRows(entryOf(remote))[0]!.row).toMatchObject({ sender_server: 'b.test', origin: 'federated' });
    expect(rowsFor(entryOf(ingested), 'b.test', [])[0]!.row).toMatchObject({ origin: 'federated' });
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

describe('warehouse rows', () => {
  const warehouse = buildWarehouseScenario();
  const rowOf = (eventId: string, registrations = [BRIDGE_REGISTRATION]) => {
    const record = warehouse.records.find((r) => r.eventId === eventId)!;
    return rowsFor(entryOf(record), 'a.test', registrations)[0]!.row;
  };

  it('records origin, room version, msgtype, relation, encryption and size, and nothing people wrote', () => {
    const { ids } = warehouse;
    const reply = warehouse.records.find((r) => r.eventId === ids.threadReply);
    if (reply?.type !== 'pdu.accepted') throw new Error('the reply was accepted');
    expect(rowOf(ids.threadReply)).toMatchObject({
      room_version: '11', sender: BRIDGED_USER, sender_server: 'a.test', origin: 'bridged', event_type: 'm.room.message',
      msgtype: 'm.notice', relation_type: 'm.thread', thread_root: ids.threadRoot, encrypted: 0, has_state_key: 0, status: 'accepted',
      content_bytes: Buffer.byteLength(JSON.stringify(reply.pdu.content)),
    });
    // Without the bridge's registration the same user is an ordinary local one.
    expect(rowOf(ids.threadReply, [])).toMatchObject({ origin: 'local' });
    expect(rowOf(ids.threadRoot)).toMatchObject({ origin: 'local', msgtype: 'm.text', relation_type: '', thread_root: '' });
    expect(rowOf(ids.encrypted)).toMatchObject({ event_type: 'm.room.encrypted', encrypted: 1, msgtype: '' });
    // Only a thread names a root; an annotation's target is not recorded.
    expect(rowOf(ids.reaction)).toMatchObject({ relation_type: 'm.annotation', thread_root: '' });
    // A msgtype no client would send is not recorded: it could carry a message.
    expect(rowOf(ids.oddMsgtype)).toMatchObject({ msgtype: '' });
    expect(rowOf(ids.redaction)).toMatchObject({ event_type: 'm.room.redaction', room_version: '11' });
    const bot = warehouse.records.find((r) => r.eventId === ids.threadRoot)!;
    const asBot = { ...bot, pdu: { ...(bot as { pdu: object }).pdu, sender: BRIDGE_REGISTRATION.sender } } as RoomRecord;
    expect(rowsFor(entryOf(asBot), 'a.test', [BRIDGE_REGISTRATION])[0]!.row).toMatchObject({ origin: 'bridged' });

    const rows = warehouse.records.flatMap((record, offset) => rowsFor(entryOf(record, offset), 'a.test', [BRIDGE_REGISTRATION]));
    expect(rows.filter((row) => row.table === 'analytics_redactions')).toEqual([
      { table: 'analytics_redactions', row: expect.objectContaining({ redaction_event_id: ids.redaction, redacts_event_id: ids.bridgedMessage }) },
    ]);
    expect(JSON.stringify(rows)).not.toContain(SECRET_MARKER);
  });

  it('keeps rollups to set measures and no -If state, which 18.16 and current servers store differently', () => {
    const ddl = [...ANALYTICS_SCHEMA, ...ANALYTICS_ROLLUP_VIEWS].join('\n');
    expect(ddl).toContain('AggregatingMergeTree');
    expect(ANALYTICS_ROLLUP_VIEWS).toHaveLength(8);
    for (const view of ANALYTICS_ROLLUP_VIEWS) expect(view).toMatch(/uniqExactState\(/);
    expect(ddl).not.toMatch(/DateTime64|IfState|\{\w+:\w+\}/);
  });
});
