import { describe, expect, it } from 'vitest';
import { signingKeyFromSeed, stateKeyOf, type Pdu } from '../events/index.ts';
import { ROOM_VERSIONS } from '../roomVersions/index.ts';
import { deciderHarness } from '../../test/builders/index.ts';
import { decideImportedState } from './importedState.ts';
import { membershipTemplate } from './remoteMembership.ts';
import { evolve, initialRoomState } from './state.ts';

const { Harness, createRoom, member, localKey } = deciderHarness;
const TOPIC = stateKeyOf('m.room.topic', '');

describe.each([...ROOM_VERSIONS.values()])('federation in the room decider, room version $id', (rules) => {
  it('records the state after an event on a fork, and keeps the state after each extremity', () => {
    const h = new Harness(rules);
    createRoom(h);
    h.apply(h.ingest(h.remote(member('@carol:b.test', 'join'), [...h.state.forwardExtremities])));
    const forkPoint = [...h.state.forwardExtremities];
    const [topic] = h.apply(h.send({ type: 'm.room.topic', stateKey: '', sender: '@alice:a.test', content: { topic: 'ours' } }));
    // Carol did not see the topic yet: her message cites the event before it.
    const [message] = h.apply(h.ingest(h.remote({ type: 'm.room.message', sender: '@carol:b.test', content: { body: 'concurrent' } }, forkPoint)));
    expect(message).toMatchObject({ type: 'pdu.accepted' });
    if (message?.type !== 'pdu.accepted' || message.v !== 2) throw new Error('expected an accepted v2 record');
    expect(message.forwardExtremities).toEqual([topic!.eventId, message.eventId]);
    // The room keeps the topic; the state after Carol's message does not have it.
    expect(h.state.state.get(TOPIC)).toBe(topic!.eventId);
    expect(message.stateAfterDelta).toEqual([{ type: 'm.room.topic', stateKey: '', eventId: null, replaces: topic!.eventId }]);
    expect(h.state.extremityStates.get(message.eventId)?.has(TOPIC)).toBe(false);
    expect(h.state.extremityStates.get(topic!.eventId)?.get(TOPIC)).toBe(topic!.eventId);
    // A linear event carries no delta.
    const [next] = h.apply(h.send({ type: 'm.room.message', sender: '@alice:a.test', content: { body: 'merged' } }));
    expect(next).toMatchObject({ type: 'pdu.accepted' });
    expect((next as { stateAfterDelta?: unknown }).stateAfterDelta).toBeUndefined();
    expect(h.state.extremityStates.size).toBe(1);
  });

  it('waits (missing) rather than resolve differing states with an event it cannot load', () => {
    const h = new Harness(rules);
    createRoom(h);
    h.apply(h.ingest(h.remote(member('@carol:b.test', 'join'), [...h.state.forwardExtremities])));
    const forkPoint = [...h.state.forwardExtremities];
    const [topic] = h.apply(h.send({ type: 'm.room.topic', stateKey: '', sender: '@alice:a.test', content: { topic: 'ours' } }));
    // The writer's lookups lost the topic (a read model lagging behind it): resolving without it
    // would leave it out of the state other servers keep.
    h.events.delete(topic!.eventId);
    const decision = h.ingest(h.remote({ type: 'm.room.message', sender: '@carol:b.test', content: { body: 'concurrent' } }, forkPoint));
    expect(decision).toEqual({ outcome: 'missing', eventIds: [topic!.eventId] });
  });

  it('records the state after a soft-failed event, so its sender\'s later events that cite it are judged on it', () => {
    const h = new Harness(rules);
    createRoom(h);
    h.apply(h.ingest(h.remote(member('@carol:b.test', 'join'), [...h.state.forwardExtremities])));
    const levels = h.events.get(h.state.state.get(stateKeyOf('m.room.power_levels', ''))!)!.content;
    const users = (carolLevel: number) => ({ ...levels, users: { ...(levels.users as object), '@carol:b.test': carolLevel } });
    h.apply(h.send({ type: 'm.room.power_levels', stateKey: '', sender: '@alice:a.test', content: users(50) }));
    const forkPoint = [...h.state.forwardExtremities];
    // Alice demotes Carol while Carol, not yet aware of it, sets the topic.
    const [demotion] = h.apply(h.send({ type: 'm.room.power_levels', stateKey: '', sender: '@alice:a.test', content: users(0) }));
    const [topic] = h.apply(h.ingest(h.remote({ type: 'm.room.topic', stateKey: '', sender: '@carol:b.test', content: { topic: 'theirs' } }, forkPoint)));
    expect(topic).toMatchObject({ type: 'pdu.softFailed' });
    if (topic?.type !== 'pdu.softFailed') throw new Error('expected a soft-failed record');
    // The state after it: the levels before the demotion, and its topic.
    expect(topic.stateAfterDelta).toEqual(expect.arrayContaining([
      { type: 'm.room.power_levels', stateKey: '', eventId: forkPoint[0], replaces: demotion!.eventId },
      { type: 'm.room.topic', stateKey: '', eventId: topic.eventId, replaces: null },
    ]));
    expect(h.state.forwardExtremities).toEqual([demotion!.eventId]);
    // Carol's next event cites her topic: judged on the state after it, accepted, and the current
    // state resolves both forks: the demotion wins, and so Carol's topic loses since v2; v1 keeps
    // a key only one fork set as unconflicted.
    const [message] = h.apply(h.ingest(h.remote({ type: 'm.room.message', sender: '@carol:b.test', content: { body: 'after my topic' } }, [topic.eventId])));
    expect(message).toMatchObject({ type: 'pdu.accepted' });
    expect(h.state.forwardExtremities).toEqual([demotion!.eventId, message!.eventId]);
    expect(h.state.state.get(stateKeyOf('m.room.power_levels', ''))).toBe(demotion!.eventId);
    expect(h.state.state.get(TOPIC)).toBe(rules.stateRes === 'v1' ? topic.eventId : undefined);
  });

  it('takes a remote state event on a fork into the current state', () => {
    const h = new Harness(rules);
    createRoom(h);
    h.apply(h.ingest(h.remote(member('@carol:b.test', 'join'), [...h.state.forwardExtremities])));
    const forkPoint = [...h.state.forwardExtremities];
    h.apply(h.send({ type: 'm.room.message', sender: '@alice:a.test', content: { body: 'meanwhile' } }));
    const [renamed] = h.apply(h.ingest(h.remote(
      { type: 'm.room.member', stateKey: '@carol:b.test', sender: '@carol:b.test', content: { membership: 'join', displayname: 'Carol' } }, forkPoint)));
    expect(renamed).toMatchObject({ type: 'pdu.accepted' });
    expect(h.state.state.get(stateKeyOf('m.room.member', '@carol:b.test'))).toBe(renamed!.eventId);
    expect(h.state.forwardExtremities).toHaveLength(2);
  });

  it('imports the state a resident server gave, checking every event, and then takes our join on top', () => {
    const h = new Harness(rules);
    createRoom(h);
    const pdus = [...h.events.values()].map((event) => event.pdu);
    const statePdus = [...h.state.state.values()].map((id) => h.events.get(id)!.pdu);
    const forged: Pdu = { ...statePdus[1]!, signatures: { 'a.test': { 'ed25519:1': 'AAAA' } } };
    const decision = decideImportedState({
      roomId: h.state.roomId!, rules, state: [...statePdus, forged], authChain: pdus, joinPrevEvents: [...h.state.forwardExtremities], receivedAt: h.now,
    }, initialRoomState, { ...h.lookups, getEvent: () => undefined });
    if (decision.outcome !== 'records') throw new Error(decision.reason);
    const kinds = decision.records.map((record) => record.type);
    expect(kinds.filter((kind) => kind === 'pdu.outlier')).toHaveLength(pdus.length);
    expect(kinds[kinds.length - 1]).toBe('state.imported');
    const imported = decision.records.reduce(evolve, initialRoomState);
    expect(imported.roomId).toBe(h.state.roomId);
    expect([...imported.state]).toEqual([...h.state.state]);
    expect(imported.forwardExtremities).toEqual(h.state.forwardExtremities);
    expect(imported.stateEvents.size).toBe(h.state.state.size);
  });

  it('drops an imported state without a valid create event', () => {
    const h = new Harness(rules);
    createRoom(h);
    const statePdus = [...h.state.state.values()].map((id) => h.events.get(id)!.pdu).filter((pdu) => pdu.type !== 'm.room.create');
    const decision = decideImportedState({
      roomId: h.state.roomId!, rules, state: statePdus, authChain: [], joinPrevEvents: [...h.state.forwardExtremities], receivedAt: h.now,
    }, initialRoomState, { ...h.lookups, getEvent: () => undefined });
    expect(decision.outcome).toBe('dropped');
  });

  it('proposes a join template to a remote user of a public room, and refuses one the rules would refuse', () => {
    const h = new Harness(rules);
    createRoom(h);
    const made = membershipTemplate(h.state, h.lookups, { userId: '@carol:b.test', membership: 'join', now: h.now, signingKey: localKey });
    if (!made.ok) throw new Error(made.error.reason);
    expect(made.template).toMatchObject({ type: 'm.room.member', state_key: '@carol:b.test', sender: '@carol:b.test', content: { membership: 'join' } });
    expect(made.template.signatures).toBeUndefined();
    expect(made.template.hashes).toBeUndefined();
    h.apply(h.send({ type: 'm.room.join_rules', stateKey: '', sender: '@alice:a.test', content: { join_rule: 'invite' } }));
    const refused = membershipTemplate(h.state, h.lookups, { userId: '@carol:b.test', membership: 'join', now: h.now, signingKey: signingKeyFromSeed('a.test', 'ed25519:1', new Uint8Array(32).fill(1)) });
    expect(refused).toMatchObject({ ok: false, error: { errcode: 'M_FORBIDDEN' } });
  });
});
