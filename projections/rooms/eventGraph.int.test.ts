// The DAG reads the federation endpoints walk (eventGraph.ts) on real PostgreSQL, over rows as the
// rooms projection stores them: prev_events and auth_events in both reference formats (v1–v2
// pairs, v3+ ids), outliers, a cyclic (malformed) auth graph, references into another room, and
// the v12 create event that no auth_events names.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stateKeyOf, type JsonObject, type LogEntry, type LogValue, type RoomEventGraph, type RoomRecord, type SqlDatabase } from '../../domain/index.ts';
import { openTestSchema, type TestSchema } from '../../test/harness/index.ts';
import { createRoomEventGraph } from './eventGraph.ts';
import { roomsProjection } from './projection.ts';
import { ROOMS_SCHEMA } from './schema.ts';

const OLD = '!old:x';
const OTHER = '!other:x';
/** A v12 room: its id is its create event's id with the `!` sigil. */
const NEW = '!Zm9vYmFy';
const NEW_CREATE = '$Zm9vYmFy';

let offset = 0;
const row = (roomId: string, eventId: string, depth: number, prev: unknown[], auth: unknown[], outlier = false) => ({
  roomId, eventId, depth, outlier, offset: offset++,
  pdu: { type: 'm.room.message', sender: '@a:x', content: {}, prev_events: prev, auth_events: auth, depth },
});
const pair = (id: string) => [id, { sha256: 'aGFzaA' }];

const ROWS = [
  // v1 format: references are [id, hashes] pairs. $c3 and $c4 cite each other (never valid, must not hang).
  row(OLD, '$c1', 1, [], []),
  row(OLD, '$c2', 2, [pair('$c1')], [pair('$c1')]),
  row(OLD, '$c3', 3, [pair('$c2')], [pair('$c2'), pair('$c4')]),
  row(OLD, '$c4', 4, [pair('$c3'), pair('$gone')], [pair('$c3'), pair('$x1'), pair('$gone')]),
  row(OLD, '$o', 2, [], [pair('$c1')], true),
  row(OTHER, '$x1', 1, [], []),
  row(OTHER, '$x2', 2, [], [pair('$c1')]),
  // v12 format: plain ids, and no create event in auth_events.
  row(NEW, NEW_CREATE, 1, [], []),
  row(NEW, '$n2', 2, [NEW_CREATE], []),
  row(NEW, '$n3', 3, ['$n2'], ['$n2']),
];

describe('the room event graph on PostgreSQL', () => {
  let db: SqlDatabase;
  let testSchema: TestSchema | undefined;
  let graph: RoomEventGraph;

  beforeAll(async () => {
    testSchema = await openTestSchema('event_graph_test');
    db = testSchema.db;
    for (const statement of ROOMS_SCHEMA) await db.query(statement);
    for (const r of ROWS) {
      await db.query(
        `INSERT INTO room_events (event_id, room_id, room_version, log_partition, log_offset, type, state_key, sender, origin_server_ts,
           depth, pdu, accepted_at, outlier) VALUES ($1, $2, $3, 0, $4, 'm.room.message', NULL, '@a:x', 0, $5, $6::jsonb, 0, $7)`,
        [r.eventId, r.roomId, r.roomId === NEW ? '12' : '1', r.offset, r.depth, JSON.stringify(r.pdu), r.outlier]);
    }
    graph = createRoomEventGraph(db);
  });
  afterAll(() => testSchema?.drop());

  it('reads DAG positions with prev_events as ids in either format, outliers flagged, unknown ids left out', async () => {
    const nodes = await graph.nodes(['$c4', '$o', '$n3', '$gone', '$c4']);
    const byId = new Map(nodes.map((node) => [node.eventId, node]));
    expect(nodes).toHaveLength(3);
    expect(byId.get('$c4')).toEqual({ eventId: '$c4', roomId: OLD, depth: 4, offset: 3, outlier: false, prevEventIds: ['$c3', '$gone'] });
    expect(byId.get('$o')).toMatchObject({ outlier: true, prevEventIds: [] });
    expect(byId.get('$n3')).toMatchObject({ roomId: NEW, prevEventIds: ['$n2'] });
    expect(await graph.nodes([])).toEqual([]);
  });

  it('walks auth chains to the end in one statement, through cycles, never into another room', async () => {
    expect((await graph.authChainIds(OLD, ['$c2'])).sort()).toEqual(['$c1']);
    // The cycle $c3 ⇄ $c4 ends; each starting event is in the answer only as another's auth event.
    expect((await graph.authChainIds(OLD, ['$c3'])).sort()).toEqual(['$c1', '$c2', '$c3', '$c4']);
    expect((await graph.authChainIds(OLD, ['$o', '$c2'])).sort()).toEqual(['$c1']);
    // $x1 belongs to another room: not followed, not answered; nor are other rooms' starting events.
    expect(await graph.authChainIds(OLD, ['$c4'])).not.toContain('$x1');
    expect(await graph.authChainIds(OLD, ['$x2'])).toEqual([]);
    expect(await graph.authChainIds(OLD, [])).toEqual([]);
  });

  it('puts the v12 create event in every other event\'s auth chain', async () => {
    expect((await graph.authChainIds(NEW, ['$n3'])).sort()).toEqual([NEW_CREATE, '$n2'].sort());
    expect(await graph.authChainIds(NEW, ['$n2'])).toEqual([NEW_CREATE]);
    expect(await graph.authChainIds(NEW, [NEW_CREATE])).toEqual([]);
    expect(await graph.authChainIds(NEW, ['$gone'])).toEqual([]);
  });

  it('reads the history visibility and one server\'s memberships in log order', async () => {
    const change = async (at: number, type: string, stateKey: string, eventId: string | null, content: object) => {
      if (eventId !== null) {
        await db.query(
          `INSERT INTO room_events (event_id, room_id, room_version, log_partition, log_offset, type, state_key, sender, origin_server_ts,
             depth, pdu, accepted_at) VALUES ($1, $2, '1', 1, $3, $4, $5, '@a:x', 0, 1, $6::jsonb, 0)`,
          [eventId, OLD, at, type, stateKey, JSON.stringify({ type, state_key: stateKey, content })]);
      }
      await db.query('INSERT INTO room_state_changes (room_id, log_offset, type, state_key, event_id) VALUES ($1, $2, $3, $4, $5)',
        [OLD, at, type, stateKey, eventId]);
    };
    await change(100, 'm.room.history_visibility', '', '$hv1', { history_visibility: 'joined' });
    await change(101, 'm.room.member', '@u:remote.test:8448', '$j1', { membership: 'join' });
    await change(102, 'm.room.member', '@v:remote.test', '$j2', { membership: 'invite' });
    await change(103, 'm.room.member', '@w:x:remote.test', '$j3', { membership: 'join' });
    await change(104, 'm.room.member', '@u:remote.test:8448', null, {});
    await change(105, 'm.room.history_visibility', '', '$hv2', { history_visibility: 'shared' });
    expect(await graph.serverVisibilityHistory(OLD, 'remote.test:8448')).toEqual({
      historyVisibility: [{ offset: 100, value: 'joined', atEvent: true }, { offset: 105, value: 'shared', atEvent: true }],
      memberships: [
        { offset: 101, value: 'join', atEvent: true, userId: '@u:remote.test:8448' },
        // Removed from the state (no event): no membership.
        { offset: 104, value: null, atEvent: false, userId: '@u:remote.test:8448' },
      ],
    });
    // The server name is what follows the user id's first colon: '@w:x:remote.test' is x:remote.test's.
    expect((await graph.serverVisibilityHistory(OLD, 'remote.test')).memberships).toEqual([
      { offset: 102, value: 'invite', atEvent: true, userId: '@v:remote.test' },
    ]);
  });

  it('knows whether a server has a user joined to the room now, its port and all', async () => {
    for (const [userId, membership] of [['@u:remote.test:8448', 'join'], ['@v:remote.test', 'invite'], ['@w:x:remote.test', 'join'], ['@l:left.test', 'leave']]) {
      await db.query(`INSERT INTO room_memberships (room_id, user_id, membership, event_id, log_offset) VALUES ($1, $2, $3, '$m', 0)`,
        [OLD, userId, membership]);
    }
    expect(await graph.serverHasJoinedMember(OLD, 'remote.test:8448')).toBe(true);
    expect(await graph.serverHasJoinedMember(OLD, 'x:remote.test')).toBe(true);
    // Invited or left users do not count; another port is another server.
    expect(await graph.serverHasJoinedMember(OLD, 'remote.test')).toBe(false);
    expect(await graph.serverHasJoinedMember(OLD, 'left.test')).toBe(false);
    expect(await graph.serverHasJoinedMember(NEW, 'remote.test:8448')).toBe(false);
  });

  it('holds a soft-failed event out of the timeline, with the state after it that its sender\'s later events need', async () => {
    const room = '!forks:x';
    const pdu = (type: string, stateKey: string, content: JsonObject): JsonObject => ({ type, state_key: stateKey, sender: '@a:x', room_id: room, content, depth: 2, origin_server_ts: 0, prev_events: [], auth_events: [] });
    const apply = async (offset: number, record: RoomRecord) => {
      const entry: LogEntry = { topic: 'room.events', partition: 7, offset, key: room, value: record as unknown as LogValue, headers: {}, timestamp: 0 };
      for (const statement of roomsProjection.evolve(entry)) await db.query(statement.text, statement.values);
    };
    const topic = stateKeyOf('m.room.topic', '');
    await apply(200, {
      type: 'pdu.accepted', v: 2, roomId: room, roomVersion: '10', eventId: '$topic1', pdu: pdu('m.room.topic', '', { topic: 'current' }),
      stateDelta: [{ type: 'm.room.topic', stateKey: '', eventId: '$topic1', replaces: null }], prevAcceptedEventId: null,
      forwardExtremities: ['$topic1'], local: null, acceptedAt: 0, redaction: null, redactedBy: [],
    });
    await apply(201, {
      type: 'pdu.softFailed', v: 1, roomId: room, roomVersion: '10', eventId: '$late', pdu: pdu('m.room.topic', '', { topic: 'late' }), reason: 'demoted', acceptedAt: 0,
      stateAfterDelta: [{ type: 'm.room.topic', stateKey: '', eventId: '$late', replaces: '$topic1' }],
    });
    // A soft-failed message: the state after it is the current state, an empty delta that is still known.
    await apply(202, {
      type: 'pdu.softFailed', v: 1, roomId: room, roomVersion: '10', eventId: '$quiet', pdu: pdu('m.room.message', '', { body: 'x' }), reason: 'demoted', acceptedAt: 0,
      stateAfterDelta: [],
    });
    // Written before soft-failed events carried their state: held, but no state after it is known.
    await apply(203, {
      type: 'pdu.softFailed', v: 1, roomId: room, roomVersion: '10', eventId: '$old', pdu: pdu('m.room.topic', '', { topic: 'old' }), reason: 'demoted', acceptedAt: 0,
    });
    expect((await graph.stateAfterEvent('$late'))?.get(topic)).toBe('$late');
    expect((await graph.stateAfterEvent('$quiet'))?.get(topic)).toBe('$topic1');
    expect(await graph.stateAfterEvent('$old')).toBeUndefined();
    expect((await graph.stateAfterEvent('$topic1'))?.get(topic)).toBe('$topic1');
    expect((await graph.eventsByIds(['$late', '$quiet', '$old'])).map((event) => event.eventId).sort()).toEqual(['$late', '$old', '$quiet']);
    expect((await graph.nodes(['$late', '$quiet'])).every((node) => node.outlier)).toBe(true);
    // The current state is untouched.
    const { rows } = await db.query<{ event_id: string }>('SELECT event_id FROM room_current_state WHERE room_id = $1', [room]);
    expect(rows.map((r) => r.event_id)).toEqual(['$topic1']);
  });
});
