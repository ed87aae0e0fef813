// The rooms projection and its queries on real PostgreSQL and on PGlite, fed with records from the
// real decider (through the room writer), plus the SQL redaction checked against the domain's.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ROOM_EVENTS_TOPIC, ROOM_VERSIONS, redactPdu, roomVersionRules, type JsonObject } from '../../domain/index.ts';
import type { RoomRequester } from '../../domain/app/rooms/index.ts';
import { rebuildProjection } from '../runtime/index.ts';
import { redactedPduSql } from './redactionSql.ts';
import { roomsProjection } from './projection.ts';
import { createSyncQueries } from './syncQueries.ts';
import { ROOMS_TABLES } from './schema.ts';
import { readModelBackends, startRoomsStack, type ReadModelBackend, type RoomsStack } from '../../test/harness/index.ts';

const alice: RoomRequester = { userId: '@alice:example.org', deviceId: 'A' };
const bob: RoomRequester = { userId: '@bob:example.org', deviceId: 'B' };

type Backend = ReadModelBackend;
const { PostgreSQL: postgres, PGlite: pglite } = readModelBackends('rooms_test');

/** Events of several types with content the redaction algorithm treats differently. */
const samplePdus = (roomId: string): JsonObject[] => {
  const base = { room_id: roomId, sender: '@alice:example.org', origin_server_ts: 1, depth: 3, prev_events: [], auth_events: [], hashes: { sha256: 'x' }, signatures: {}, origin: 'example.org', membership: 'join', unsigned: { age: 1 } };
  return [
    { ...base, type: 'm.room.member', state_key: '@bob:example.org', content: { membership: 'invite', displayname: 'B', join_authorised_via_users_server: '@a:x', third_party_invite: { signed: { token: 't' }, display_name: 'x' } } },
    { ...base, type: 'm.room.create', state_key: '', content: { creator: '@alice:example.org', room_version: '10', extra: true } },
    { ...base, type: 'm.room.join_rules', state_key: '', content: { join_rule: 'restricted', allow: [{ type: 'm.room_membership' }], other: 1 } },
    { ...base, type: 'm.room.power_levels', state_key: '', content: { ban: 50, invite: 0, users: { '@a:x': 100 }, notifications: { room: 50 } } },
    { ...base, type: 'm.room.aliases', state_key: 'example.org', content: { aliases: ['#a:x'], other: 1 } },
    { ...base, type: 'm.room.history_visibility', state_key: '', content: { history_visibility: 'shared', x: 1 } },
    { ...base, type: 'm.room.redaction', redacts: '$x', content: { redacts: '$x', reason: 'r' } },
    { ...base, type: 'm.room.message', content: { body: 'hello', msgtype: 'm.text' } },
    { ...base, type: 'm.room.member', state_key: '@c:example.org', content: 'not an object' },
  ];
};

const describeBackend = (name: string, backend: Backend) => describe(`rooms projection on ${name}`, () => {
  let opened: Awaited<ReturnType<Backend['open']>>;
  let stack: RoomsStack;
  beforeEach(async () => {
    opened = await backend.open();
    stack = await startRoomsStack({ db: opened.db });
  });
  afterEach(async () => {
    await stack.close();
    await opened.drop();
  });

  it('folds the decider records into events, state, memberships and state changes', async () => {
    const { rooms, queries, writer } = stack;
    const { roomId } = await rooms.createRoom(alice, { room_version: '10', name: 'First', preset: 'public_chat' });
    const firstName = (await queries.stateEvent(roomId, 'm.room.name', ''))!;
    await rooms.join(bob, roomId);
    const secondName = await rooms.putState(alice, roomId, 'm.room.name', '', { name: 'Second' });
    const withUrl = await rooms.sendMessage(bob, roomId, 'm.room.message', 't1', { msgtype: 'm.image', body: 'pic', url: 'mxc://x/y' });
    const plain = await rooms.sendMessage(alice, roomId, 'm.room.message', 't2', { msgtype: 'm.text', body: 'hello' });
    await rooms.leave(bob, roomId);

    const info = (await queries.roomInfo(roomId))!;
    expect(info).toMatchObject({ roomVersion: '10', creator: alice.userId, roomType: null });
    const snapshot = (await queries.snapshot(roomId))!;
    const state = (await writer.state(roomId))!;
    expect(new Map(snapshot.state.map((s) => [`${s.type}\u0000${s.stateKey}`, s.eventId]))).toEqual(state.state);
    expect(snapshot.forwardExtremities).toEqual(state.forwardExtremities);
    expect(snapshot.maxDepth).toBe(state.maxDepth);
    expect(snapshot.lastEventId).toBe(state.lastAcceptedEventId);
    expect(snapshot.offset).toBe(info.lastOffset);

    const current = (await queries.stateEvent(roomId, 'm.room.name', ''))!;
    expect(current.eventId).toBe(secondName);
    expect(current.replacesState).toBe(firstName.eventId);
    expect(current.prevContent).toEqual({ name: 'First' });
    const before = await queries.stateAt(roomId, firstName.offset);
    expect(before.find((e) => e.type === 'm.room.name')?.eventId).toBe(firstName.eventId);
    expect(before.some((e) => e.stateKey === bob.userId)).toBe(false);

    expect((await queries.membershipHistory(roomId, bob.userId)).map((c) => c.membership)).toEqual(['join', 'leave']);
    expect(await queries.roomsWithMembership(bob.userId, ['leave'])).toEqual([roomId]);
    expect(await queries.roomsWithMembership(alice.userId, ['join'])).toEqual([roomId]);
    const withUrlOffset = (await queries.event(withUrl))!.offset;
    expect((await queries.members(roomId, withUrlOffset)).map((m) => m.stateKey).sort()).toEqual([alice.userId, bob.userId]);

    const onlyUrl = await queries.messages(roomId, { dir: 'b', from: info.lastOffset + 1, limit: 10, filter: { containsUrl: true } });
    expect(onlyUrl.map((e) => e.eventId)).toEqual([withUrl]);
    const messagesOfAlice = await queries.messages(roomId, { dir: 'f', from: 0, limit: 10, filter: { types: ['m.room.mess*'], senders: [alice.userId] } });
    expect(messagesOfAlice.map((e) => e.eventId)).toEqual([plain]);
    const around = await queries.around(roomId, withUrlOffset, 1, 1);
    expect(around.before.map((e) => e.eventId)).toEqual([secondName]);
    expect(around.after.map((e) => e.eventId)).toEqual([plain]);
    expect(await queries.eventIdForTransaction(roomId, { userId: bob.userId, deviceId: 'B', txnId: 't1' })).toBe(withUrl);
  });

  it('stores only the redacted form of a redacted event, for v10 and v12 rooms', async () => {
    for (const version of ['10', '12']) {
      const { rooms, queries } = stack;
      const { roomId } = await rooms.createRoom(alice, { room_version: version });
      const message = await rooms.sendMessage(alice, roomId, 'm.room.message', `m${version}`, { msgtype: 'm.text', body: 'secret' });
      const original = (await queries.event(message))!.pdu;
      const redaction = await rooms.redact(alice, roomId, message, `r${version}`, 'oops');
      const stored = (await queries.event(message))!;
      expect(stored.pdu).toEqual(redactPdu(original, roomVersionRules(version)!.redaction));
      expect(stored.redactedBecause?.eventId).toBe(redaction);
      const raw = await opened.db.query<{ text: string }>('SELECT pdu::text AS text FROM room_events WHERE event_id = $1', [message]);
      expect(raw.rows[0]!.text).not.toContain('secret');
      // The unread window marks the redacted message and keeps the redaction; the user's own
      // messages are left out, their state events kept.
      await rooms.sendMessage(alice, roomId, 'm.room.message', `h${version}`, { msgtype: 'm.text', body: 'hi bob' });
      const sync = createSyncQueries(opened.db);
      const forBob = await sync.unreadWindow(roomId, bob.userId, -1, Number.MAX_SAFE_INTEGER, true);
      expect(forBob.events.filter((e) => e.type === 'm.room.message').map((e) => e.redactedBecause?.eventId ?? null)).toEqual([redaction, null]);
      expect(forBob.events.filter((e) => e.type === 'm.room.redaction').map((e) => e.eventId)).toEqual([redaction]);
      expect(forBob.stateBefore).toEqual({ joinedMembers: 0 });
      const forAlice = await sync.unreadWindow(roomId, alice.userId, -1, Number.MAX_SAFE_INTEGER, false);
      expect(forAlice.events.filter((e) => e.type === 'm.room.message')).toEqual([]);
      expect(forAlice.events.map((e) => e.type)).toEqual(expect.arrayContaining(['m.room.create', 'm.room.member', 'm.room.redaction']));
      expect((await sync.unreadWindow(roomId, alice.userId, stored.offset, stored.offset + 1, true)).stateBefore).toMatchObject({
        joinedMembers: 1, ownMember: { stateKey: alice.userId }, powerLevels: { type: 'm.room.power_levels' }, create: { type: 'm.room.create' },
      });
    }
  });

  it('applies exactly the redactions the records carry: an awaiting one when its target lands redacted by it, never a bare redacts', async () => {
    const roomId = '!early:remote.org';
    // Room v10 event ids are reference hashes (43 unpadded URL-safe base64 characters).
    const id = (c: string) => `$${c.repeat(43)}`;
    const [redactionId, targetId, inertId, otherId, legacyId] = [id('r'), id('t'), id('i'), id('o'), id('l')];
    const pdu = (type: string, extra: JsonObject): JsonObject => ({
      type, room_id: roomId, sender: '@mallory:remote.org', origin_server_ts: 1, depth: 5, prev_events: [], auth_events: [],
      hashes: { sha256: 'x' }, signatures: {}, ...extra,
    });
    let previous: string | null = null;
    const accepted = (eventId: string, event: JsonObject, judged: JsonObject) => {
      const prevAcceptedEventId = previous;
      previous = eventId;
      return {
        key: roomId,
        value: {
          type: 'pdu.accepted', v: 2, roomId, roomVersion: '10', eventId, pdu: event, stateDelta: [], prevAcceptedEventId,
          forwardExtremities: [eventId], local: null, acceptedAt: 1, redaction: null, redactedBy: [], ...judged,
        },
      };
    };
    const message = (body: string) => pdu('m.room.message', { content: { msgtype: 'm.text', body } });
    const awaiting = await stack.log.append(ROOM_EVENTS_TOPIC, [
      accepted(redactionId, pdu('m.room.redaction', { redacts: targetId, content: {} }),
        { redaction: { effect: 'awaitsTarget', target: targetId, senderMayRedact: false } }),
    ]);
    expect(await stack.projection.waitFor(awaiting[0]!.partition, awaiting[0]!.offset, 10_000)).toBe(true);
    // What an ingesting writer preloads for the decider when the target arrives.
    expect(await stack.queries.awaitingRedactions(roomId, [targetId, otherId])).toEqual(new Map([
      [targetId, [{ eventId: redactionId, roomId, sender: '@mallory:remote.org', senderMayRedact: false }]],
    ]));
    const positions = await stack.log.append(ROOM_EVENTS_TOPIC, [
      accepted(targetId, message('secret'), { redactedBy: [redactionId] }),
      accepted(otherId, message('kept'), {}),
      // A state m.room.redaction naming a target: the decider gave it no effect, so none happens.
      accepted(inertId, pdu('m.room.redaction', { state_key: '', content: { redacts: otherId } }), { redaction: { effect: 'none', reason: 'a state event redacts nothing' } }),
      // Written before v2 by this server: a state event never redacts, whatever its content says.
      (() => {
        const { redaction: _redaction, redactedBy: _redactedBy, ...v1 } = accepted(legacyId, pdu('m.room.redaction', { state_key: '', redacts: otherId, content: {} }), {}).value;
        return { key: roomId, value: { ...v1, v: 1, local: { userId: '@mallory:remote.org', deviceId: null, txnId: null } } };
      })(),
    ]);
    const last = positions[positions.length - 1]!;
    expect(await stack.projection.waitFor(last.partition, last.offset, 10_000)).toBe(true);
    const stored = (await stack.queries.event(targetId))!;
    expect(stored.redactedBecause?.eventId).toBe(redactionId);
    expect(stored.pdu.content).toEqual({});
    const other = (await stack.queries.event(otherId))!;
    expect(other.redactedBecause).toBeNull();
    expect(other.pdu.content).toEqual({ msgtype: 'm.text', body: 'kept' });
    // Applied: no longer awaiting.
    expect(await stack.queries.awaitingRedactions(roomId, [targetId])).toEqual(new Map());
  });

  it('redacts in SQL exactly as redactPdu does, for every room version', async () => {
    for (const [version, rules] of ROOM_VERSIONS) {
      for (const [i, pdu] of samplePdus(`!r:${version}`).entries()) {
        const eventId = `$sample_${version}_${i}`;
        await opened.db.query(
          `INSERT INTO room_events (event_id, room_id, room_version, log_partition, log_offset, type, state_key, sender,
             origin_server_ts, depth, pdu, accepted_at) VALUES ($1, 'r', $2, 99, $3, $4, NULL, 's', 0, 0, $5::jsonb, 0)`,
          [eventId, version, 100_000 + Number(version) * 100 + i, String(pdu.type), JSON.stringify(pdu)]);
        const { rows } = await opened.db.query<{ redacted: JsonObject }>(
          `SELECT ${redactedPduSql(rules.redaction)} AS redacted FROM room_events WHERE event_id = $1`, [eventId]);
        expect(rows[0]!.redacted, `${version} ${String(pdu.type)}`).toEqual(redactPdu(pdu, rules.redaction));
      }
    }
  });

  it('rebuilds the same tables from offset 0', async () => {
    const { rooms } = stack;
    const { roomId } = await rooms.createRoom(alice, { name: 'Rebuild', preset: 'public_chat' });
    await rooms.join(bob, roomId);
    const message = await rooms.sendMessage(bob, roomId, 'm.room.message', 'x', { body: 'b' });
    await rooms.redact(bob, roomId, message, 'y', undefined);
    const dump = async () => {
      const tables: Record<string, unknown[]> = {};
      for (const table of ROOMS_TABLES) tables[table] = (await opened.db.query(`SELECT * FROM ${table} ORDER BY 1, 2`)).rows;
      return tables;
    };
    const before = await dump();
    await stack.projection.stop();
    await rebuildProjection({ projection: roomsProjection, log: stack.log, db: opened.db });
    expect(await dump()).toEqual(before);
  });
});

describeBackend('PostgreSQL', postgres);
describeBackend('PGlite', pglite);
