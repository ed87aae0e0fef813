/**
 * Test fixture: the answers the analytics read model must give, computed straight from the room
 * records in memory, so int tests compare ClickHouse against an independent fold.
 */
import type { EventCountsQuery, RoomActivityQuery } from '../../../domain/app/analytics/index.ts';
import type { EventRecord } from '../../../domain/index.ts';

interface Meta {
  readonly status: 'accepted' | 'soft_failed' | 'rejected';
  readonly roomId: string;
  readonly eventId: string;
  readonly type: string;
  readonly sender: string;
  readonly ts: number;
  readonly isState: boolean;
}

const metaOf = (record: EventRecord): Meta => {
  if (record.type === 'pdu.rejected') {
    return { status: 'rejected', roomId: record.roomId, eventId: record.eventId, type: '', sender: '', ts: record.rejectedAt, isState: false };
  }
  const pdu = record.pdu;
  return {
    status: record.type === 'pdu.accepted' ? 'accepted' : 'soft_failed',
    roomId: record.roomId, eventId: record.eventId, type: String(pdu.type), sender: String(pdu.sender),
    ts: Number(pdu.origin_server_ts), isState: typeof pdu.state_key === 'string',
  };
};

/** Targets of accepted redactions (rooms before v11 carry `redacts` at the top level). */
const redactedIds = (records: readonly EventRecord[]): Set<string> => new Set(records.flatMap((record) =>
  record.type === 'pdu.accepted' && record.pdu.type === 'm.room.redaction'
    ? [String(record.pdu.redacts ?? (record.pdu.content as { redacts?: string }).redacts)] : []));

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export const expectedCounts = (records: readonly EventRecord[], query: EventCountsQuery) => {
  const redacted = redactedIds(records);
  const keyOf = (meta: Meta): string | number => {
    switch (query.groupBy) {
      case 'type': return meta.type;
      case 'sender': return meta.sender;
      case 'room': return meta.roomId;
      case 'server': return meta.sender.includes(':') ? meta.sender.slice(meta.sender.indexOf(':') + 1) : '';
      case 'hour': return meta.ts - (meta.ts % HOUR);
      case 'day': return meta.ts - (meta.ts % DAY);
    }
  };
  const groups = new Map<string | number, { key: string | number; count: number; redacted: number }>();
  for (const meta of records.map(metaOf)) {
    if (meta.status !== query.status || meta.ts < query.from || meta.ts >= query.to) continue;
    if (query.roomId !== undefined && meta.roomId !== query.roomId) continue;
    if (query.type !== undefined && meta.type !== query.type) continue;
    const key = keyOf(meta);
    const group = groups.get(key) ?? { key, count: 0, redacted: 0 };
    group.count++;
    if (redacted.has(meta.eventId)) group.redacted++;
    groups.set(key, group);
  }
  return [...groups.values()];
};

export const expectedActivity = (records: readonly EventRecord[], query: RoomActivityQuery) => {
  const redacted = redactedIds(records);
  const size = query.bucket === 'hour' ? HOUR : DAY;
  const buckets = new Map<number, { ts: number; events: number; stateEvents: number; senders: Set<string>; softFailed: number; rejected: number; redacted: number }>();
  for (const meta of records.map(metaOf)) {
    if (meta.roomId !== query.roomId || meta.ts < query.from || meta.ts >= query.to) continue;
    const ts = meta.ts - (meta.ts % size);
    const bucket = buckets.get(ts) ?? { ts, events: 0, stateEvents: 0, senders: new Set(), softFailed: 0, rejected: 0, redacted: 0 };
    if (meta.status === 'accepted') {
      bucket.events++;
      if (meta.isState) bucket.stateEvents++;
      bucket.senders.add(meta.sender);
      if (redacted.has(meta.eventId)) bucket.redacted++;
    } else if (meta.status === 'soft_failed') bucket.softFailed++;
    else bucket.rejected++;
    buckets.set(ts, bucket);
  }
  return [...buckets.values()].sort((a, b) => a.ts - b.ts).map(({ senders, ...rest }) => ({ ...rest, senders: senders.size }));
};

/** Rows in a stable order, for comparing answers whose tie order is the server's business. */
export const byKey = <T extends { key: string | number }>(rows: readonly T[]): T[] =>
  [...rows].sort((a, b) => (String(a.key) < String(b.key) ? -1 : String(a.key) > String(b.key) ? 1 : 0));
