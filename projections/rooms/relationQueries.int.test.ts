// The relation indexes and the content reports table on real PostgreSQL: the queries' relation
// expressions must match the expression index, or every /relations and bundled aggregation
// becomes a scan of the room.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SqlDatabase } from '../../domain/index.ts';
import { openTestSchema, type TestSchema } from '../../test/harness/index.ts';
import { createSqlContentReports, ensureContentReportsSchema } from './contentReports.ts';
import { createRoomQueries } from './queries.ts';
import { createRelationQueries, ensureRelationIndexes } from './relationQueries.ts';
import { ROOMS_SCHEMA } from './schema.ts';

describe('relation indexes and content reports on PostgreSQL', () => {
  let db: SqlDatabase;
  let testSchema: TestSchema | undefined;
  const queries: string[] = [];

  beforeAll(async () => {
    // One connection, so the session setting below applies to every query.
    testSchema = await openTestSchema('relations_test');
    db = testSchema.db;
    for (const statement of ROOMS_SCHEMA) await db.query(statement);
    await ensureRelationIndexes(db);
    await ensureRelationIndexes(db); // idempotent
    await ensureContentReportsSchema(db);
  });
  afterAll(() => testSchema?.drop());

  it('plans /relations and the aggregations through the expression indexes', async () => {
    // Small tables favour sequential scans; forbidding them shows which index the planner can use.
    await db.query('SET enable_seqscan = off');
    const explaining = {
      query: async <Row>(text: string, values?: readonly unknown[]) => {
        const { rows } = await db.query<Record<string, string>>(`EXPLAIN ${text}`, values as never);
        queries.push(rows.map((row) => Object.values(row)[0]).join('\n'));
        return { rows: [] as Row[], rowCount: 0 };
      },
    };
    const relations = createRelationQueries(explaining);
    await relations.relations('!r:x', '$parent', { dir: 'b', limit: 5, depth: 3, relType: 'm.thread' });
    await relations.aggregations('!r:x', [{ eventId: '$parent', sender: '@a:x', type: 'm.room.message', editable: true, threadable: true }], '@a:x', {});
    await relations.threads('!r:x', { limit: 5 });
    await relations.eventAtTime('!r:x', 5, 'f', { visible: [{ from: 0, to: 10 }, { from: 20, to: 30 }] });
    const [relationsPlan, aggregationsPlan, threadsPlan, timestampPlan] = queries;
    expect(relationsPlan).toContain('room_events_relates_to');
    // Threads (relates_to or the threads index), edits and references: the relates_to index at least twice.
    expect(aggregationsPlan!.match(/room_events_relates_to/g)?.length).toBeGreaterThanOrEqual(2);
    expect(aggregationsPlan).toMatch(/room_events_threads|room_events_relates_to[\s\S]*room_events_relates_to[\s\S]*room_events_relates_to/);
    expect(threadsPlan).toContain('room_events_threads');
    expect(timestampPlan).toContain('room_events_room_ts');
    await db.query('RESET enable_seqscan');
  });

  it('finds the events with bundled children: threads, edits and references, not reactions, in the room only', async () => {
    const insert = async (eventId: string, roomId: string, offset: number, relation?: { rel_type: string; event_id: string }) => {
      const content = relation === undefined ? { body: eventId } : { 'm.relates_to': relation, 'm.new_content': { body: 'edited' } };
      const pdu = { type: 'm.room.message', sender: '@a:x', room_id: roomId, content };
      await db.query(
        `INSERT INTO room_events (event_id, room_id, room_version, log_partition, log_offset, type, state_key, sender, origin_server_ts,
           depth, pdu, accepted_at)
         VALUES ($1, $2, '12', 0, $3, 'm.room.message', NULL, '@a:x', $3, $3, $4, $3)`, [eventId, roomId, offset, JSON.stringify(pdu)]);
    };
    for (const [offset, id] of ['$threaded', '$edited', '$referenced', '$reacted', '$plain'].entries()) await insert(id, '!p:x', offset + 100);
    await insert('$c1', '!p:x', 110, { rel_type: 'm.thread', event_id: '$threaded' });
    await insert('$c2', '!p:x', 111, { rel_type: 'm.replace', event_id: '$edited' });
    await insert('$c3', '!p:x', 112, { rel_type: 'm.reference', event_id: '$referenced' });
    await insert('$c4', '!p:x', 113, { rel_type: 'm.annotation', event_id: '$reacted' });
    await insert('$c5', '!elsewhere:x', 114, { rel_type: 'm.reference', event_id: '$plain' });
    const relations = createRelationQueries(db);
    const found = await relations.parentsWithChildren('!p:x', ['$threaded', '$edited', '$referenced', '$reacted', '$plain', '$unknown']);
    expect([...found].sort()).toEqual(['$edited', '$referenced', '$threaded']);
    expect(await relations.parentsWithChildren('!p:x', [])).toEqual(new Set());
    // The aggregations of those, all three kinds from one statement, within the visible ranges.
    const parents = ['$threaded', '$edited', '$referenced'].map((eventId) => ({ eventId, sender: '@a:x', type: 'm.room.message', editable: true, threadable: true }));
    const all = await relations.aggregations('!p:x', parents, '@b:x', {});
    expect([...all.keys()].sort()).toEqual(['$edited', '$referenced', '$threaded']);
    expect(all.get('$threaded')?.thread).toMatchObject({ latest: { eventId: '$c1' }, count: 1, participated: false });
    expect(all.get('$edited')?.replace?.eventId).toBe('$c2');
    expect(all.get('$referenced')?.references).toEqual(['$c3']);
    const early = await relations.aggregations('!p:x', parents.slice(1), '@a:x', { visible: [{ from: 0, to: 112 }] });
    expect([...early.entries()].map(([id, aggregation]) => [id, Object.keys(aggregation)])).toEqual([['$edited', ['replace']]]);
    // Without thread roots or editable parents the statement holds the references branch alone.
    const referencesOnly = await relations.aggregations('!p:x', parents.map((p) => ({ ...p, editable: false, threadable: false })), '@a:x', {});
    expect([...referencesOnly.entries()]).toEqual([['$referenced', { references: ['$c3'] }]]);
    // In a room of many events the probe looks the ids up in the relates_to index, not through the room.
    await db.query(
      `INSERT INTO room_events (event_id, room_id, room_version, log_partition, log_offset, type, state_key, sender, origin_server_ts,
         depth, pdu, accepted_at)
       SELECT '$bulk' || n, '!p:x', '12', 0, 1000 + n, 'm.room.message', NULL, '@a:x', n, n, '{"content":{"body":"x"}}'::jsonb, n
       FROM generate_series(1, 5000) AS n`);
    await db.query('ANALYZE room_events');
    const plans: string[] = [];
    await createRelationQueries({
      query: async <Row>(text: string, values?: readonly unknown[]) => {
        const { rows } = await db.query<Record<string, string>>(`EXPLAIN ${text}`, values as never);
        plans.push(rows.map((row) => Object.values(row)[0]).join('\n'));
        return { rows: [] as Row[], rowCount: 0 };
      },
    }).parentsWithChildren('!p:x', ['$bulk1', '$bulk2', '$threaded']);
    expect(plans[0]).toContain('room_events_relates_to');

    // The timeline read says per event whether it has bundled children, through the same index.
    const rooms = createRoomQueries(db);
    const page = await rooms.messages('!p:x', { dir: 'f', from: 100, to: 115, limit: 20 });
    expect(page.map((event) => [event.eventId, event.hasChildren])).toEqual([
      ['$threaded', true], ['$edited', true], ['$referenced', true], ['$reacted', false], ['$plain', false],
      ['$c1', false], ['$c2', false], ['$c3', false], ['$c4', false],
    ]);
    expect((await rooms.messages('!p:x', { dir: 'b', from: 103, limit: 2 })).map((event) => event.hasChildren)).toEqual([true, true]);
    await createRoomQueries({
      query: async <Row>(text: string, values?: readonly unknown[]) => {
        const { rows } = await db.query<Record<string, string>>(`EXPLAIN ${text}`, values as never);
        plans.push(rows.map((row) => Object.values(row)[0]).join('\n'));
        return { rows: [] as Row[], rowCount: 0 };
      },
    }).messages('!p:x', { dir: 'b', from: 6000, limit: 10 });
    expect(plans[1]).toContain('room_events_relates_to');
  });

  it("leaves the non-state children of ignored senders out of a thread's count and latest event and of references", async () => {
    const insert = async (eventId: string, offset: number, sender: string, relation?: { rel_type: string; event_id: string }, stateKey?: string) => {
      const content = relation === undefined ? { body: eventId } : { body: eventId, 'm.relates_to': relation };
      const pdu = { type: 'm.room.message', sender, room_id: '!ig:x', content };
      await db.query(
        `INSERT INTO room_events (event_id, room_id, room_version, log_partition, log_offset, type, state_key, sender, origin_server_ts,
           depth, pdu, accepted_at)
         VALUES ($1, '!ig:x', '12', 0, $2, 'm.room.message', $5, $3, $2, $2, $4, $2)`, [eventId, offset, sender, JSON.stringify(pdu), stateKey ?? null]);
    };
    await insert('$root', 200, '@a:x');
    await insert('$solo', 201, '@a:x');
    await insert('$r1', 202, '@a:x', { rel_type: 'm.thread', event_id: '$root' });
    await insert('$r2', 203, '@eve:x', { rel_type: 'm.thread', event_id: '$root' });
    await insert('$ref1', 204, '@eve:x', { rel_type: 'm.reference', event_id: '$root' });
    await insert('$ref2', 205, '@a:x', { rel_type: 'm.reference', event_id: '$root' });
    await insert('$s1', 206, '@eve:x', { rel_type: 'm.thread', event_id: '$solo' });
    await insert('$s2', 207, '@eve:x', { rel_type: 'm.thread', event_id: '$solo' }, 'a state key');
    const relations = createRelationQueries(db);
    const parents = ['$root', '$solo'].map((eventId) => ({ eventId, sender: '@a:x', type: 'm.room.message', editable: true, threadable: true }));
    const summary = async (ignoredSenders?: string[]) => [...(await relations.aggregations('!ig:x', parents, '@b:x', ignoredSenders === undefined ? {} : { ignoredSenders }))]
      .map(([id, a]) => [id, a.thread?.latest.eventId, a.thread?.count, a.references]);
    expect(await summary()).toEqual([['$root', '$r2', 2, ['$ref1', '$ref2']], ['$solo', '$s2', 2, undefined]]);
    // A state event of an ignored user still counts ("Servers must still send state events sent by ignored users").
    expect(await summary(['@eve:x'])).toEqual([['$root', '$r1', 1, ['$ref2']], ['$solo', '$s2', 1, undefined]]);
    expect(await summary([])).toEqual(await summary());
  });

  it('stores content reports', async () => {
    const reports = createSqlContentReports(db);
    await reports.add({ reporter: '@a:x', roomId: '!r:x', eventId: '$e', userId: null, reason: 'spam', receivedTs: 7 });
    await reports.add({ reporter: '@a:x', roomId: null, eventId: null, userId: '@b:x', reason: null, receivedTs: 8 });
    const { rows } = await db.query('SELECT reporter, room_id, event_id, user_id, reason, received_ts FROM content_reports ORDER BY id');
    expect(rows.map((row) => ({ ...row, received_ts: Number(row.received_ts) }))).toEqual([
      { reporter: '@a:x', room_id: '!r:x', event_id: '$e', user_id: null, reason: 'spam', received_ts: 7 },
      { reporter: '@a:x', room_id: null, event_id: null, user_id: '@b:x', reason: null, received_ts: 8 },
    ]);
  });
});
