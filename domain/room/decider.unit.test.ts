import { describe, expect, it } from 'vitest';
import { signingKeyFromSeed, stateKeyOf } from '../events/index.ts';
import { ROOM_VERSIONS } from '../roomVersions/index.ts';
import type { RoomLookups } from './commands.ts';
import { decide } from './decider.ts';
import { deciderHarness } from '../../test/builders/index.ts';

const { Harness, createRoom, createRoomDecision, member, powerLevels } = deciderHarness;

describe.each([...ROOM_VERSIONS.values()])('room decider, room version $id', (rules) => {
  it('creates a room whose records chain and fold into its state', () => {
    const h = new Harness(rules);
    const records = createRoom(h);
    expect(records.map((r) => r.type)).toEqual(Array(5).fill('pdu.accepted'));
    if (rules.eventFormat.roomIdIsCreateEventHash) {
      expect(h.state.roomId).toBe(`!${records[0]!.eventId.slice(1)}`);
    } else {
      expect(h.state.roomId).toBe('!room:a.test');
    }
    const accepted = records.filter((r) => r.type === 'pdu.accepted');
    accepted.forEach((record, i) => {
      expect(record.prevAcceptedEventId).toBe(i === 0 ? null : accepted[i - 1]!.eventId);
      expect(record.forwardExtremities).toEqual([record.eventId]);
      expect(record.stateDelta).toHaveLength(1);
    });
    expect(h.state.state.size).toBe(5);
    expect(h.state.maxDepth).toBe(5);
  });

  it('accepts a member message, refuses a non-member, and refuses a second create', () => {
    const h = new Harness(rules);
    createRoom(h);
    const [message] = h.apply(h.send({ type: 'm.room.message', sender: '@alice:a.test', content: { msgtype: 'm.text', body: 'hi' } }));
    expect(message!.type).toBe('pdu.accepted');
    expect(h.state.forwardExtremities).toEqual([message!.eventId]);
    const stranger = h.send({ type: 'm.room.message', sender: '@bob:a.test', content: { body: 'let me in' } });
    expect(stranger).toMatchObject({ outcome: 'refused', error: { errcode: 'M_FORBIDDEN' } });
    const again = h.send({ type: 'm.room.create', stateKey: '', sender: '@alice:a.test', content: {} });
    expect(again).toMatchObject({ outcome: 'refused', error: { errcode: 'M_FORBIDDEN' } });
  });

  it('answers a state event identical to the current one (same sender, same content) with that event, appending nothing', () => {
    const h = new Harness(rules);
    createRoom(h);
    const topic = { type: 'm.room.topic', stateKey: '', sender: '@alice:a.test', content: { topic: 'same', 'm.extra': { a: 1, b: 2 } } };
    const [first] = h.apply(h.send(topic));
    // Key order does not make content differ: canonical JSON compares.
    const repeated = h.send({ ...topic, content: { 'm.extra': { b: 2, a: 1 }, topic: 'same' } });
    expect(repeated).toMatchObject({ outcome: 'unchanged', event: { eventId: first!.eventId } });
    expect(h.send({ ...topic, content: { topic: 'other' } }).outcome).toBe('records');
    // A join while joined with the same content repeats the member event; a new displayname does not.
    const joined = h.events.get(h.state.state.get(stateKeyOf('m.room.member', '@alice:a.test'))!)!;
    expect(h.send(member('@alice:a.test', 'join'))).toMatchObject({ outcome: 'unchanged', event: { eventId: joined.eventId } });
    expect(h.send({ ...member('@alice:a.test', 'join'), content: { membership: 'join', displayname: 'Alice' } }).outcome).toBe('records');
    // The same content from another sender is a new event.
    h.apply(h.send(member('@bob:a.test', 'join')));
    h.apply(h.send({ type: 'm.room.power_levels', stateKey: '', sender: '@alice:a.test',
      content: { ...powerLevels(rules), users: { ...(powerLevels(rules).users as object), '@bob:a.test': 50 } } }));
    expect(h.send({ ...topic, sender: '@bob:a.test' }).outcome).toBe('records');
  });

  it('refuses a repeated state event its sender may no longer send: "no change" only answers an allowed change', () => {
    const h = new Harness(rules);
    createRoom(h);
    h.apply(h.send(member('@bob:a.test', 'join')));
    const bobTopic = { type: 'm.room.topic', stateKey: '', sender: '@bob:a.test', content: { topic: 'bob' } };
    h.apply(h.send({ type: 'm.room.power_levels', stateKey: '', sender: '@alice:a.test',
      content: { ...powerLevels(rules), users: { ...(powerLevels(rules).users as object), '@bob:a.test': 50 } } }));
    h.apply(h.send(bobTopic));
    h.apply(h.send({ type: 'm.room.power_levels', stateKey: '', sender: '@alice:a.test', content: powerLevels(rules) }));
    expect(h.send(bobTopic)).toMatchObject({ outcome: 'refused', error: { errcode: 'M_FORBIDDEN' } });
  });

  it('folds a message without copying the state, and a state event into new maps leaving the old ones as they were', () => {
    const h = new Harness(rules);
    createRoom(h);
    const before = h.state;
    h.apply(h.send({ type: 'm.room.message', sender: '@alice:a.test', content: { msgtype: 'm.text', body: 'hi' } }));
    expect(h.state.state).toBe(before.state);
    expect(h.state.stateEvents).toBe(before.stateEvents);
    const sizeBefore = before.state.size;
    h.apply(h.send({ type: 'm.room.topic', stateKey: '', sender: '@alice:a.test', content: { topic: 'new' } }));
    expect(h.state.state).not.toBe(before.state);
    expect(h.state.state.size).toBe(sizeBefore + 1);
    expect(before.state.size).toBe(sizeBefore);
    expect(before.state.has(stateKeyOf('m.room.topic', ''))).toBe(false);
  });

  it('refuses a room whose initial state its creator may not send with M_INVALID_ROOM_STATE, appending nothing', () => {
    const h = new Harness(rules);
    const decision = createRoomDecision(h, [
      // Since v12 creators cannot lose power, but power levels must not list them.
      h.rules.auth.privilegedCreators
        ? { type: 'm.room.power_levels', stateKey: '', sender: '@alice:a.test', content: { users: { '@alice:a.test': 100 } } }
        : { type: 'm.room.power_levels', stateKey: '', sender: '@alice:a.test', content: { users: {}, users_default: 0, state_default: 50 } },
      { type: 'm.room.name', stateKey: '', sender: '@alice:a.test', content: { name: 'Locked out' } },
    ]);
    expect(decision).toMatchObject({ outcome: 'refused', error: { errcode: 'M_INVALID_ROOM_STATE' } });
  });

  it('refuses an event over 65,536 bytes with M_TOO_LARGE', () => {
    const h = new Harness(rules);
    createRoom(h);
    const big = h.send({ type: 'm.room.message', sender: '@alice:a.test', content: { body: 'x'.repeat(70_000) } });
    expect(big).toMatchObject({ outcome: 'refused', error: { errcode: 'M_TOO_LARGE' } });
  });

  it('ingests remote PDUs: accepts a join, rejects a non-member, drops a bad signature, soft-fails a banned sender', () => {
    const h = new Harness(rules);
    createRoom(h);
    const tip = () => [...h.state.forwardExtremities];

    const [join] = h.apply(h.ingest(h.remote(member('@carol:b.test', 'join'), tip())));
    expect(join).toMatchObject({ type: 'pdu.accepted', local: null });
    expect(h.state.state.get(stateKeyOf('m.room.member', '@carol:b.test'))).toBe(join!.eventId);
    const beforeBan = tip();

    const [outsider] = h.apply(h.ingest(h.remote({ type: 'm.room.message', sender: '@dave:b.test', content: { body: 'x' } }, tip())));
    expect(outsider!.type).toBe('pdu.rejected');

    const forged = h.remote({ type: 'm.room.message', sender: '@carol:b.test', content: { body: 'x' } }, tip(), signingKeyFromSeed('b.test', 'ed25519:1', new Uint8Array(32).fill(9)));
    expect(h.ingest(forged)).toMatchObject({ outcome: 'dropped' });

    h.apply(h.send({ type: 'm.room.member', stateKey: '@carol:b.test', sender: '@alice:a.test', content: { membership: 'ban' } }));
    // Carol's message cites the DAG before her ban: fine by the state before it, not by the current state.
    const [late] = h.apply(h.ingest(h.remote({ type: 'm.room.message', sender: '@carol:b.test', content: { body: 'late' } }, beforeBan)));
    expect(late!.type).toBe('pdu.softFailed');
  });

  it('redacts a remote PDU whose content hash does not match, then judges the redacted form', () => {
    const h = new Harness(rules);
    createRoom(h);
    h.apply(h.ingest(h.remote(member('@carol:b.test', 'join'), [...h.state.forwardExtremities])));
    const pdu = h.remote({ type: 'm.room.message', sender: '@carol:b.test', content: { body: 'original' } }, [...h.state.forwardExtremities]);
    const tampered = { ...pdu, content: { body: 'tampered' } };
    const [record] = h.apply(h.ingest(tampered));
    expect(record!.type).toBe('pdu.accepted');
    if (record!.type === 'pdu.accepted') expect(record!.pdu.content).toEqual({});
  });

  it('asks for what it lacks instead of guessing', () => {
    const h = new Harness(rules);
    createRoom(h);
    const pdu = h.remote(member('@carol:b.test', 'join'), [...h.state.forwardExtremities]);
    const empty: RoomLookups = { ...h.lookups, getEvent: () => undefined };
    expect(decide({ type: 'ingestPdu', pdu, origin: 'b.test', receivedAt: h.now }, h.state, empty).outcome).toBe('missing');
  });
});
