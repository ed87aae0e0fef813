// A hostile federation peer that answers for the gaps it makes: Mallory's PDU cites a prev event
// Strata lacks, and the fake server fills the gap with what suits it (server-server-api
// § Backfilling and retrieving missing events, § Checks performed on receipt of a PDU, step 5).
// - A stale state: `/get_missing_events` answers nothing and `/state` the room's state from
//   before Alice changed the topic, the join rules and the server ACL and banned Troll — every
//   event in it genuine, signed by Strata. The room's current state keeps every later change,
//   also after Alice's next events merge the fork.
// - No power levels: a state change of Mallory's on a claimed state without m.room.power_levels
//   (where state_default is 0) stays out of the state, and a message built on it changes nothing.
// - A forged state for the gap: Mallory's own power levels (passing their auth events, which hold
//   none) and a name on top, given as the state before her message: the room is not taken over.
// - Forged history: `/get_missing_events` answers power level changes of Mallory's (one signed
//   with another key, one the auth rules refuse) and the PDU builds on them: nothing is taken in.
// The stage is test/harness/hostileRoom.ts. Both deployments.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signingKeyFromSeed, type JsonObject } from '../../domain/index.ts';
import { MatrixClient, e, type Body, type ServerMode, type UserClient } from '../harness/index.ts';
import { startHostileRoom, type HostileRoom } from '../harness/hostileRoom.ts';

describe.each<ServerMode>(['embedded', 'distributed'])('gaps a hostile federation peer fills (%s)', (mode) => {
  let h: HostileRoom;
  let troll: UserClient;
  const message = (body: string) => ({ type: 'm.room.message', content: { msgtype: 'm.text', body } });
  const stateContent = (type: string, stateKey = ''): Promise<Body> => h.alice.get(`/rooms/${e(h.room)}/state/${e(type)}/${e(stateKey)}`);

  beforeAll(async () => {
    h = await startHostileRoom(mode);
    const client = new MatrixClient(h.server.url);
    troll = client.as(await client.register('troll'));
    await troll.post(`/join/${e(h.room)}`);
  }, 120_000);
  afterAll(() => h?.stop());

  it('keeps every later change when the origin answers the state before its PDU with a stale one', async () => {
    const early = await h.alice.send(h.room, 'the good old days');
    const stale = await h.remote.request('GET', `/_matrix/federation/v1/state/${e(h.room)}?event_id=${e(early)}`);
    const staleIds = await h.remote.request('GET', `/_matrix/federation/v1/state_ids/${e(h.room)}?event_id=${e(early)}`);
    expect([stale.status, staleIds.status], JSON.stringify(stale.body)).toEqual([200, 200]);
    await h.alice.put(`/rooms/${e(h.room)}/state/m.room.topic/`, { topic: 'keep out, really' });
    await h.alice.put(`/rooms/${e(h.room)}/state/m.room.join_rules/`, { join_rule: 'invite' });
    await h.alice.put(`/rooms/${e(h.room)}/state/m.room.server_acl/`, { allow: ['*'], deny: ['evil.example'], allow_ip_literals: true });
    await h.alice.post(`/rooms/${e(h.room)}/ban`, { user_id: troll.userId, reason: 'trolling' });
    const before = await h.stateOf();

    h.remote.serve('POST', '/_matrix/federation/v1/get_missing_events/', () => ({ status: 200, body: { events: [] } }));
    h.remote.serve('GET', '/_matrix/federation/v1/state/', () => ({ status: 200, body: stale.body as JsonObject }));
    h.remote.serve('GET', '/_matrix/federation/v1/state_ids/', () => ({ status: 200, body: staleIds.body as JsonObject }));
    const forked = await h.mallory.build({ ...message('from the good old days'), prevEventIds: [`$${'C'.repeat(43)}`] });
    const answer = await h.mallory.send([forked.pdu]);
    // Taken in on the state it claims (step 5), as a fork: harmless, the current state is resolved.
    expect(answer.body).toEqual({ pdus: { [forked.eventId]: {} } });
    expect(await h.stateOf()).toEqual(before);
    // Alice's next events cite every forward extremity, the fork included: the merge keeps her state.
    await h.alice.send(h.room, 'still mine');
    await h.alice.put(`/rooms/${e(h.room)}/state/m.room.name/`, { name: 'Fortress II' });
    expect(await stateContent('m.room.topic')).toEqual({ topic: 'keep out, really' });
    expect(await stateContent('m.room.join_rules')).toEqual({ join_rule: 'invite' });
    expect(await stateContent('m.room.server_acl')).toMatchObject({ deny: ['evil.example'] });
    expect(await stateContent('m.room.member', troll.userId)).toMatchObject({ membership: 'ban' });
    await troll.fails('POST', `/join/${e(h.room)}`, { status: 403, errcode: 'M_FORBIDDEN' });
    await h.expectUnharmed(await h.stateOf());
  });

  it('takes in nothing built on forged or unauthorised history the origin gives for the gap', async () => {
    const before = await h.stateOf();
    const levels = await stateContent('m.room.power_levels');
    const promotion = { ...levels, users: { ...(levels.users as Body), [h.mallory.userId]: 100 } };
    const forger = signingKeyFromSeed(h.remote.serverName, h.remote.key.keyId, new Uint8Array(32).fill(99));
    const forged = await h.mallory.build({ type: 'm.room.power_levels', stateKey: '', content: promotion }, { key: forger });
    const unauthorised = await h.mallory.build({ type: 'm.room.power_levels', stateKey: '', content: promotion, prevEventIds: [forged.eventId] });
    const onTop = await h.mallory.build({ type: 'm.room.name', stateKey: '', content: { name: 'Mallory\'s now' }, prevEventIds: [unauthorised.eventId] });
    h.remote.serve('POST', '/_matrix/federation/v1/get_missing_events/', () => ({ status: 200, body: { events: [forged.pdu, unauthorised.pdu] } }));
    h.remote.serve('GET', '/_matrix/federation/v1/state/', () => ({ status: 404, body: { errcode: 'M_NOT_FOUND', error: 'no' } }));
    h.remote.serve('GET', '/_matrix/federation/v1/state_ids/', () => ({ status: 404, body: { errcode: 'M_NOT_FOUND', error: 'no' } }));
    h.expectRefused(await h.mallory.send([onTop.pdu]), onTop.eventId);
    for (const event of [forged, unauthorised, onTop]) await h.expectUnknownToAlice(event.eventId);
    expect(await h.stateOf()).toEqual(before);
    expect(await stateContent('m.room.name')).toEqual({ name: 'Fortress II' });
    await h.expectUnharmed(before);
  });

  it('keeps out a state change whose claimed state before has no power levels (state_default 0) and whose auth events leave them out', async () => {
    const before = await h.stateOf();
    const early = await h.alice.send(h.room, 'a point in time');
    const stale = await h.remote.request('GET', `/_matrix/federation/v1/state/${e(h.room)}?event_id=${e(early)}`);
    const withoutLevels = (stale.body.pdus as Body[]).filter((pdu) => pdu.type !== 'm.room.power_levels');
    h.remote.serve('POST', '/_matrix/federation/v1/get_missing_events/', () => ({ status: 200, body: { events: [] } }));
    h.remote.serve('GET', '/_matrix/federation/v1/state/', () => ({ status: 200, body: { pdus: withoutLevels, auth_chain: stale.body.auth_chain } }));
    const ownAuth = (await h.mallory.build(message('never sent'))).pdu.auth_events as string[];
    const levelsId = (await h.alice.get(`/rooms/${e(h.room)}/state`) as unknown as Body[]).find((event) => event.type === 'm.room.power_levels')!.event_id;
    const rename = await h.mallory.build({
      type: 'm.room.name', stateKey: '', content: { name: 'Nobody holds power here' },
      prevEventIds: [`$${'D'.repeat(43)}`], authEventIds: ownAuth.filter((id) => id !== levelsId),
    });
    // Rejected or soft-failed (an error in the answer or not): never in the state.
    expect((await h.mallory.send([rename.pdu])).status).toBe(200);
    expect(await h.stateOf()).toEqual(before);
    // A message built on it does not carry it into the room's state either.
    h.remote.serve('GET', '/_matrix/federation/v1/state/', () => ({ status: 404, body: { errcode: 'M_NOT_FOUND', error: 'no' } }));
    const onTop = await h.mallory.build({ ...message('on top of the rename'), prevEventIds: [rename.eventId] });
    expect((await h.mallory.send([onTop.pdu])).status).toBe(200);
    expect(await h.stateOf()).toEqual(before);
    await h.alice.send(h.room, 'merging');
    expect(await stateContent('m.room.name')).toEqual({ name: 'Fortress II' });
    await h.expectUnharmed(await h.stateOf());
  });

  it('is not taken over by a forged state for the gap (Mallory\'s power levels authorised by nothing, her name on top)', async () => {
    const before = await h.stateOf();
    const current = await h.alice.get(`/rooms/${e(h.room)}/state`) as unknown as Body[];
    const levels = current.find((event) => event.type === 'm.room.power_levels')!;
    const ownAuth = (await h.mallory.build(message('never sent'))).pdu.auth_events as string[];
    const withoutLevels = ownAuth.filter((id) => id !== levels.event_id);
    // With no power levels among its auth events, a first power levels event of anyone's passes them.
    const takeover = await h.mallory.build({
      type: 'm.room.power_levels', stateKey: '', authEventIds: withoutLevels,
      content: { ...(levels.content as Body), users: { ...(levels.content.users as Body), [h.mallory.userId]: 100 } },
    });
    const renamed = await h.mallory.build({
      type: 'm.room.name', stateKey: '', content: { name: 'Mallory\'s castle' }, prevEventIds: [takeover.eventId], authEventIds: [...withoutLevels, takeover.eventId],
    });
    const point = await h.alice.send(h.room, 'now');
    const genuine = await h.remote.request('GET', `/_matrix/federation/v1/state/${e(h.room)}?event_id=${e(point)}`);
    const forged = (genuine.body.pdus as Body[]).filter((pdu) => pdu.type !== 'm.room.power_levels' && pdu.type !== 'm.room.name');
    h.remote.serve('POST', '/_matrix/federation/v1/get_missing_events/', () => ({ status: 200, body: { events: [] } }));
    h.remote.serve('GET', '/_matrix/federation/v1/event_auth/', () => ({ status: 200, body: { auth_chain: [...(genuine.body.auth_chain as Body[]), takeover.pdu] } }));
    h.remote.serve('GET', '/_matrix/federation/v1/state/', () => ({
      status: 200, body: { pdus: [...forged, takeover.pdu, renamed.pdu], auth_chain: [...(genuine.body.auth_chain as Body[]), takeover.pdu] },
    }));
    // Citing the gap alone (a fork beside the room's extremities), then the gap and the latest event.
    const alone = await h.mallory.build({ ...message('under new management'), prevEventIds: [`$${'E'.repeat(43)}`] });
    expect((await h.mallory.send([alone.pdu])).status).toBe(200);
    expect(await h.stateOf()).toEqual(before);
    const latest = await h.alice.send(h.room, 'merging the fork');
    const both = await h.mallory.build({ ...message('under new management, merged'), prevEventIds: [`$${'F'.repeat(43)}`, latest] });
    expect((await h.mallory.send([both.pdu])).status).toBe(200);
    expect(await h.stateOf()).toEqual(before);
    await h.alice.send(h.room, 'and again');
    expect(await stateContent('m.room.name')).toEqual({ name: 'Fortress II' });
    expect((await stateContent('m.room.power_levels')).users).toEqual(levels.content.users);
    // Mallory still holds no power: a topic change of hers is refused.
    const topic = await h.mallory.build({ type: 'm.room.topic', stateKey: '', content: { topic: 'mine' } });
    h.expectRefused(await h.mallory.send([topic.pdu]), topic.eventId);
    for (const event of [takeover, renamed]) h.refusedIds.add(event.eventId);
    await h.expectUnharmed(await h.stateOf());
  });
});
