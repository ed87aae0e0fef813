import { describe, expect, it } from 'vitest';
import { roomVersionRules, toRoomEvent, type LogEntry, type PduAccepted } from '../../../domain/index.ts';
import { analyticsRows } from '../../../projections/analytics/index.ts';
import { roomsProjection } from '../../../projections/rooms/index.ts';
import { searchProjectionFor } from '../../../projections/search/index.ts';
import { createRoomLogContract } from '../../../projections/runtime/index.ts';
import { ANALYTICS_MIX, CORPUS_ROOM_VERSION, SEARCH_MIX, createCorpus, type CorpusOptions, type CorpusRecord } from './corpus.ts';
import { createTextSource, wordOfRank, zipf } from './words.ts';
import { seededRandom } from '../../harness/seededRandom.ts';

const OPTIONS: CorpusOptions = {
  events: 6000, rooms: 400, senders: 300, remoteServers: 3, serverName: 'bench.example', fromMs: Date.UTC(2026, 0, 1),
  toMs: Date.UTC(2026, 3, 1), seed: 7, mix: ANALYTICS_MIX,
};

const drain = (options: CorpusOptions): CorpusRecord[] => {
  const corpus = createCorpus(options);
  const records: CorpusRecord[] = [];
  for (let record = corpus.next(); record !== undefined; record = corpus.next()) records.push(record);
  return records;
};

const entries = (records: readonly CorpusRecord[]): LogEntry[] =>
  records.map((record, offset) => ({ topic: 'strata.room.events', partition: 0, offset, key: record.key, value: record.value, headers: record.headers, timestamp: 0 }));

describe('bench corpus', () => {
  const records = drain(OPTIONS);
  const accepted = records.map((record) => record.value as unknown as PduAccepted);

  it('hands out exactly the events asked for, the same ones for the same seed', () => {
    expect(records).toHaveLength(6000);
    expect(drain(OPTIONS).map((record) => (record.value as unknown as PduAccepted).eventId)).toEqual(accepted.map((record) => record.eventId));
    expect(new Set(accepted.map((record) => record.eventId)).size).toBe(records.length);
  });

  it('keeps the log contract: keyed by room, each room chained from its create event', () => {
    const contract = createRoomLogContract();
    expect(contract.check(0, entries(records))).toBeUndefined();
    const first = new Map<string, PduAccepted>();
    for (const record of accepted) if (!first.has(record.roomId)) first.set(record.roomId, record);
    for (const record of first.values()) {
      expect(record.pdu.type).toBe('m.room.create');
      expect(record.prevAcceptedEventId).toBeNull();
    }
  });

  it('gives PDUs of the room version format and events every projection applies', () => {
    const rules = roomVersionRules(CORPUS_ROOM_VERSION)!;
    for (const record of accepted) expect(toRoomEvent(record.pdu, rules, record.eventId).ok).toBe(true);
    const logEntries = entries(records);
    const search = searchProjectionFor('english');
    for (const entry of logEntries) {
      expect(roomsProjection.evolve(entry).length).toBeGreaterThan(0);
      search.evolve(entry);
    }
    const rows = logEntries.flatMap((entry) => analyticsRows(entry, OPTIONS.serverName, []).filter((row) => row.table === 'analytics_events').map((row) => row.row));
    const origins = new Set(rows.map((row) => row.origin));
    expect(origins).toEqual(new Set(['local', 'federated']));
    expect(new Set(rows.map((row) => row.sender_server)).size).toBeGreaterThanOrEqual(3);
  });

  it('mixes messages, msgtypes, state, threads, reactions, encryption and redactions of earlier events of the room', () => {
    const types = new Set(accepted.map((record) => record.pdu.type));
    for (const type of ['m.room.message', 'm.room.encrypted', 'm.reaction', 'm.room.redaction', 'm.room.member', 'm.room.power_levels']) {
      expect(types).toContain(type);
    }
    const msgtypes = new Set(accepted.map((record) => (record.pdu.content as { msgtype?: string }).msgtype).filter((m) => m !== undefined));
    expect(msgtypes.size).toBeGreaterThanOrEqual(4);
    expect(accepted.some((record) => (record.pdu.content as { 'm.relates_to'?: { rel_type?: string } })['m.relates_to']?.rel_type === 'm.thread')).toBe(true);
    const seen = new Map(accepted.map((record, index) => [record.eventId, { index, roomId: record.roomId }]));
    for (const [index, record] of accepted.entries()) {
      if (record.redaction?.effect !== 'redacts') continue;
      const target = seen.get(record.redaction.target)!;
      expect(target.index).toBeLessThan(index);
      expect(target.roomId).toBe(record.roomId);
    }
  });

  it('spreads events over rooms with a long tail, in time order', () => {
    const perRoom = new Map<string, number>();
    for (const record of accepted) perRoom.set(record.roomId, (perRoom.get(record.roomId) ?? 0) + 1);
    const sizes = [...perRoom.values()].sort((a, b) => b - a);
    expect(sizes[0]!).toBeGreaterThan(10 * sizes[Math.floor(sizes.length / 2)]!);
    const times = accepted.map((record) => record.pdu.origin_server_ts as number);
    expect(times[0]).toBe(OPTIONS.fromMs);
    expect(times.every((ts, i) => i === 0 || ts >= times[i - 1]!)).toBe(true);
    expect(times[times.length - 1]!).toBeLessThanOrEqual(OPTIONS.toMs);
  });

  it('joins the searcher to every room and hands out message texts for other servers', () => {
    const searcher = '@searcher:bench.example';
    const search = drain({ ...OPTIONS, events: 3000, countMessages: true, rooms: 50, remoteServers: 0, mix: SEARCH_MIX, memberOfEveryRoom: searcher });
    const roomIds = new Set(search.map((record) => record.key));
    const joined = new Set(search.map((record) => record.value as unknown as PduAccepted)
      .filter((record) => record.pdu.type === 'm.room.member' && record.pdu.state_key === searcher).map((record) => record.roomId));
    expect(joined).toEqual(roomIds);
    const messages = search.filter((record) => record.message !== undefined);
    expect(messages).toHaveLength(3000);
    for (const record of messages) expect((record.value as unknown as PduAccepted).pdu.content).toEqual(record.message!.content);
  });
});

describe('bench words', () => {
  it('draws Zipf ranks and distinct words', () => {
    const ranks = zipf(1000, 1);
    const random = seededRandom(1);
    const counts = new Array<number>(1000).fill(0);
    for (let i = 0; i < 20_000; i += 1) counts[ranks.sample(random)]! += 1;
    expect(counts[0]!).toBeGreaterThan(counts[9]! * 5);
    expect(new Set(Array.from({ length: 5000 }, (_, r) => wordOfRank(r))).size).toBe(5000);
    const body = createTextSource().body(seededRandom(2));
    expect(body.split(' ').length).toBeGreaterThan(0);
  });
});
