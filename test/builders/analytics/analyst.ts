/**
 * Test fixture for the analyst API: the counts scenario (scenario.ts) plus a room whose id and an
 * event type carry commas, quotes, CR/LF and backslashes (CSV's hard cases), talked in by a local
 * user and a bridge's puppet a month later, so active users have every origin and two months. And
 * the answers each endpoint must give, folded straight from the records in memory.
 */
import type { EventRecord } from '../../../domain/index.ts';
import { BRIDGED_USER } from './warehouse.ts';
import { buildScenario, SCENARIO_START } from './scenario.ts';
import { TestRoom } from './testRooms.ts';

export const HOSTILE_ROOM_ID = '!a,b "c"\nd\r\'e\\:a.test';
export const HOSTILE_TYPE = 'com.example.x,"y"\nz';
/** 2024-04-02T00:00:00Z: the hostile room's first event. */
export const HOSTILE_START = Date.UTC(2024, 3, 2);

export const buildAnalystScenario = (): { records: EventRecord[]; start: number } => {
  const base = buildScenario();
  const room = new TestRoom(HOSTILE_START);
  room.step = 7 * 60_000;
  room.create(HOSTILE_ROOM_ID, '@alice:a.test', [BRIDGED_USER]);
  room.send(BRIDGED_USER, HOSTILE_TYPE, { n: 1 });
  room.send(BRIDGED_USER, HOSTILE_TYPE, { n: 2 });
  room.send(BRIDGED_USER, 'm.room.message', { msgtype: 'm.notice', body: 'x' });
  room.send('@alice:a.test', 'm.room.message', { msgtype: 'm.text', body: 'y' });
  return { records: [...base.records, ...room.records], start: SCENARIO_START };
};

const DAY = 86_400_000;

/** One event as the analyst API counts it. */
export interface AnalystFact {
  readonly status: 'accepted' | 'soft_failed' | 'rejected';
  readonly roomId: string;
  readonly eventId: string;
  readonly type: string;
  readonly msgtype: string;
  readonly sender: string;
  readonly server: string;
  readonly ts: number;
  readonly isState: boolean;
  readonly local: boolean;
}

export const analystFacts = (records: readonly EventRecord[]): AnalystFact[] => records.map((record) => {
  if (record.type === 'pdu.rejected') {
    return {
      status: 'rejected', roomId: record.roomId, eventId: record.eventId, type: '', msgtype: '', sender: '', server: '',
      ts: record.rejectedAt, isState: false, local: false,
    };
  }
  const pdu = record.pdu;
  const sender = String(pdu.sender);
  const msgtype = (pdu.content as { msgtype?: unknown }).msgtype;
  return {
    status: record.type === 'pdu.accepted' ? 'accepted' : 'soft_failed',
    roomId: record.roomId, eventId: record.eventId, type: String(pdu.type), msgtype: typeof msgtype === 'string' ? msgtype : '',
    sender, server: sender.slice(sender.indexOf(':') + 1), ts: Number(pdu.origin_server_ts), isState: typeof pdu.state_key === 'string',
    local: record.type === 'pdu.accepted' && record.local !== null,
  };
});

const inRange = (fact: AnalystFact, from: number, to: number): boolean => fact.ts >= from && fact.ts < to;

/** group key → bucket start → count, for a time series (keys: room, sender, server, type, msgtype; '' for none). */
export const expectedSeries = (facts: readonly AnalystFact[], query: {
  bucketMs: number; from: number; to: number; groupBy: string; status?: string; roomId?: string; type?: string;
}): Map<string, Map<number, number>> => {
  const series = new Map<string, Map<number, number>>();
  for (const fact of facts) {
    if (fact.status !== (query.status ?? 'accepted') || !inRange(fact, query.from, query.to)) continue;
    if (query.roomId !== undefined && fact.roomId !== query.roomId) continue;
    if (query.type !== undefined && fact.type !== query.type) continue;
    const key = { none: '', room: fact.roomId, sender: fact.sender, server: fact.server, type: fact.type, msgtype: fact.msgtype }[query.groupBy]!;
    if ((query.groupBy === 'sender' || query.groupBy === 'server' || query.groupBy === 'msgtype') && key === '') continue;
    const points = series.get(key) ?? new Map<number, number>();
    const ts = fact.ts - (fact.ts % query.bucketMs);
    points.set(ts, (points.get(ts) ?? 0) + 1);
    series.set(key, points);
  }
  return series;
};

export interface ExpectedTopRow { key: string; events: number; senders: number; rooms: number }

export const expectedTop = (facts: readonly AnalystFact[], dimension: string, range: { from: number; to: number; roomId?: string }): ExpectedTopRow[] => {
  const groups = new Map<string, { events: number; senders: Set<string>; rooms: Set<string> }>();
  for (const fact of facts) {
    if (fact.status !== 'accepted' || !inRange(fact, range.from, range.to)) continue;
    if (range.roomId !== undefined && fact.roomId !== range.roomId) continue;
    const key = { rooms: fact.roomId, senders: fact.sender, servers: fact.server, types: fact.type, msgtypes: fact.msgtype }[dimension]!;
    if (dimension === 'msgtypes' && key === '') continue;
    const group = groups.get(key) ?? { events: 0, senders: new Set(), rooms: new Set() };
    group.events++;
    group.senders.add(fact.sender);
    group.rooms.add(fact.roomId);
    groups.set(key, group);
  }
  return [...groups].map(([key, g]) => ({ key, events: g.events, senders: g.senders.size, rooms: g.rooms.size }))
    .sort((a, b) => b.events - a.events || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
};

export interface ExpectedActive { ts: number; users: number; local: number; bridged: number; federated: number }

export const expectedActiveUsers = (facts: readonly AnalystFact[], isBridged: (userId: string) => boolean) => {
  const fold = (periodOf: (ts: number) => number): ExpectedActive[] => {
    const periods = new Map<number, Record<'users' | 'local' | 'bridged' | 'federated', Set<string>>>();
    for (const fact of facts) {
      if (fact.status !== 'accepted') continue;
      const ts = periodOf(fact.ts);
      const sets = periods.get(ts) ?? { users: new Set(), local: new Set(), bridged: new Set(), federated: new Set() };
      sets.users.add(fact.sender);
      sets[!fact.local ? 'federated' : isBridged(fact.sender) ? 'bridged' : 'local'].add(fact.sender);
      periods.set(ts, sets);
    }
    return [...periods].sort(([a], [b]) => a - b).map(([ts, s]) => ({
      ts, users: s.users.size, local: s.local.size, bridged: s.bridged.size, federated: s.federated.size,
    }));
  };
  return {
    daily: fold((ts) => ts - (ts % DAY)),
    monthly: fold((ts) => Date.UTC(new Date(ts).getUTCFullYear(), new Date(ts).getUTCMonth(), 1)),
  };
};

const keyCounts = (values: readonly string[], limit: number): { key: string; events: number }[] => {
  const counts = new Map<string, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  return [...counts].map(([key, events]) => ({ key, events }))
    .sort((a, b) => b.events - a.events || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)).slice(0, limit);
};

export const expectedRoomDetail = (facts: readonly AnalystFact[], redacted: ReadonlySet<string>, roomId: string, from: number, to: number) => {
  const room = facts.filter((f) => f.roomId === roomId && inRange(f, from, to));
  const accepted = room.filter((f) => f.status === 'accepted');
  return {
    events: accepted.length,
    state_events: accepted.filter((f) => f.isState).length,
    senders: new Set(accepted.map((f) => f.sender)).size,
    redacted: accepted.filter((f) => redacted.has(f.eventId)).length,
    soft_failed: room.filter((f) => f.status === 'soft_failed').length,
    rejected: room.filter((f) => f.status === 'rejected').length,
    first_ts: accepted.length === 0 ? null : Math.min(...accepted.map((f) => f.ts)),
    last_ts: accepted.length === 0 ? null : Math.max(...accepted.map((f) => f.ts)),
    types: keyCounts(accepted.map((f) => f.type), 100),
    top_senders: keyCounts(accepted.map((f) => f.sender), 10),
  };
};

export const expectedUserDetail = (facts: readonly AnalystFact[], userId: string, from: number, to: number) => {
  const sent = facts.filter((f) => f.sender === userId && f.status === 'accepted' && inRange(f, from, to));
  return {
    events: sent.length,
    rooms: new Set(sent.map((f) => f.roomId)).size,
    active_days: new Set(sent.map((f) => Math.floor(f.ts / DAY))).size,
    first_ts: sent.length === 0 ? null : Math.min(...sent.map((f) => f.ts)),
    last_ts: sent.length === 0 ? null : Math.max(...sent.map((f) => f.ts)),
    types: keyCounts(sent.map((f) => f.type), 100),
    top_rooms: keyCounts(sent.map((f) => f.roomId), 10),
  };
};

/** Targets of accepted redactions. */
export const redactedTargets = (records: readonly EventRecord[]): Set<string> => new Set(records.flatMap((record) =>
  record.type === 'pdu.accepted' && record.pdu.type === 'm.room.redaction'
    ? [String(record.pdu.redacts ?? (record.pdu.content as { redacts?: string }).redacts)] : []));

/**
 * Warehouse rows made up directly (no decider): `count` accepted messages in one room, a second
 * apart from `start`, for export tests that need more rows than one chunk.
 */
export const bulkWarehouseRows = (roomId: string, start: number, count: number): Record<string, unknown>[] =>
  Array.from({ length: count }, (_, i) => {
    const ts = start + i * 1000;
    const at = new Date(ts).toISOString().slice(0, 19).replace('T', ' ');
    return {
      log_partition: 0, log_offset: i, room_id: roomId, room_version: '10', event_id: `$bulk${i}`, event_type: 'm.room.message',
      msgtype: 'm.text', has_state_key: 0, membership: '', encrypted: 0, relation_type: '', thread_root: '', content_bytes: 10,
      sender: `@u${i % 7}:a.test`, sender_server: 'a.test', origin: 'local', origin_server_ts: at, origin_server_ms: ts,
      accepted_at: at, status: 'accepted',
    };
  });
