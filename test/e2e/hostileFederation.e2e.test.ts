// A hostile federation peer cannot change a room's state through the PDUs it sends. A fake remote
// server (its own ed25519 key, served over TLS at 127.0.0.1:<port>) joins its user Mallory to a
// public room of Alice's through make_join + send_join, then sends through `PUT /send` what the
// checks on receipt of a PDU must stop (server-server-api § Checks performed on receipt of a PDU).
// After each attack: the room's state is what it was, the refused PDUs carry an `error` in the
// answer and are never shown to Alice, /health answers 200, and a valid message of Mallory's still
// goes in (the path works). The fake server never answers /get_missing_events or /event_auth.
// Transaction-level attacks: hostileFederationTransactions.e2e.test.ts; a hanging server:
// hostileFederationHang.e2e.test.ts. Both deployments.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addEventSignature, signingKeyFromSeed, type Pdu } from '../../domain/index.ts';
import { e, timelineOf, type Body, type ServerMode } from '../harness/index.ts';
import { startHostileRoom, WIDE_TIMELINE, type HostileRoom } from '../harness/hostileRoom.ts';
import { joinAsRemote, remoteAuthor } from '../harness/remoteMember.ts';

describe.each<ServerMode>(['embedded', 'distributed'])('PDUs of a hostile federation peer (%s)', (mode) => {
  let h: HostileRoom;
  /** Alice's /sync token from before the first attack. */
  let since: string;
  const message = (body: string, extra: Body = {}) => ({ type: 'm.room.message', content: { msgtype: 'm.text', body, ...extra } });
  /** Mallory's ordinary auth events (create before v12, power levels, her membership). */
  const ownAuthEvents = async (): Promise<string[]> => (await h.mallory.build(message('never sent'))).pdu.auth_events as string[];

  beforeAll(async () => {
    h = await startHostileRoom(mode);
    since = (await h.alice.sync({ timeout: 0 })).next_batch as string;
  }, 120_000);
  afterAll(() => h?.stop());

  it('lets the fake server\'s user join through make_join and send_join, and send a message', async () => {
    const members = await h.alice.get(`/rooms/${e(h.room)}/joined_members`);
    expect(Object.keys(members.joined as Body).sort()).toEqual([h.alice.userId, h.mallory.userId].sort());
    await h.expectUnharmed(await h.stateOf());
  });

  it('drops PDUs with a forged signature (another key under the server\'s key id)', async () => {
    const before = await h.stateOf();
    const forger = signingKeyFromSeed(h.remote.serverName, h.remote.key.keyId, new Uint8Array(32).fill(66));
    const forged = await h.mallory.build(message('forged'), { key: forger });
    const profile = await h.mallory.build({ type: 'm.room.member', stateKey: h.mallory.userId, content: { membership: 'join', displayname: 'Forged' } }, { key: forger });
    const answer = await h.mallory.send([forged.pdu, profile.pdu]);
    for (const event of [forged, profile]) {
      h.expectRefused(answer, event.eventId);
      await h.expectUnknownToAlice(event.eventId);
    }
    await h.expectUnharmed(before);
  });

  it('redacts a PDU whose content hash is wrong, then processes it: its content never reaches state or Alice', async () => {
    const tampered = (pdu: Pdu, field: string, value: string): Pdu => ({ ...pdu, content: { ...(pdu.content as Body), [field]: value } });
    const profile = await h.mallory.build({ type: 'm.room.member', stateKey: h.mallory.userId, content: { membership: 'join', displayname: 'Honest' } });
    const honest = await h.mallory.build(message('honest'));
    // The signature covers the redacted event only: it still verifies; the content hash does not.
    const answer = await h.mallory.send([tampered(profile.pdu, 'displayname', 'Tampered'), tampered(honest.pdu, 'body', 'tampered')]);
    expect(answer.status).toBe(200);
    const state = (await h.alice.get(`/rooms/${e(h.room)}/state`)) as unknown as Body[];
    expect(state.find((event) => event.type === 'm.room.member' && event.state_key === h.mallory.userId))
      .toMatchObject({ event_id: profile.eventId, content: { membership: 'join' } });
    expect(JSON.stringify(state)).not.toContain('Tampered');
    expect(await h.alice.get(`/rooms/${e(h.room)}/event/${e(honest.eventId)}`)).toMatchObject({ event_id: honest.eventId, content: {} });
    await h.expectUnharmed(await h.stateOf());
  });

  it('rejects what the auth rules forbid a power level 0 user: name, power levels, join rules, kick, another\'s membership', async () => {
    const before = await h.stateOf();
    const levels = await h.alice.get(`/rooms/${e(h.room)}/state/m.room.power_levels/`);
    const attacks = [
      await h.mallory.build({ type: 'm.room.name', stateKey: '', content: { name: 'Pwned' } }),
      await h.mallory.build({ type: 'm.room.power_levels', stateKey: '', content: { ...levels, users: { ...(levels.users as Body), [h.mallory.userId]: 100 } } }),
      await h.mallory.build({ type: 'm.room.join_rules', stateKey: '', content: { join_rule: 'invite' } }),
      await h.mallory.build({ type: 'm.room.member', stateKey: h.alice.userId, content: { membership: 'leave' } }),
      await h.mallory.build({ type: 'm.room.member', stateKey: h.alice.userId, content: { membership: 'ban' } }),
      await h.mallory.build({ type: 'm.room.member', stateKey: `@friend:${h.remote.serverName}`, content: { membership: 'join' } }),
    ];
    const answer = await h.mallory.send(attacks.map((attack) => attack.pdu));
    for (const attack of attacks) {
      h.expectRefused(answer, attack.eventId);
      await h.expectUnknownToAlice(attack.eventId);
    }
    await h.expectUnharmed(before);
  });

  it('does not let Mallory\'s redaction of Alice\'s events take effect (the room\'s name, a message)', async () => {
    const before = await h.stateOf();
    const nameEvent = (await h.alice.get(`/rooms/${e(h.room)}/state`) as unknown as Body[]).find((event) => event.type === 'm.room.name')!;
    const alicesMessage = await h.alice.send(h.room, 'mine to keep');
    const redactions = [
      await h.mallory.build({ type: 'm.room.redaction', content: {}, redacts: nameEvent.event_id as string }),
      await h.mallory.build({ type: 'm.room.redaction', content: {}, redacts: alicesMessage }),
    ];
    expect((await h.mallory.send(redactions.map((redaction) => redaction.pdu))).status).toBe(200);
    expect(await h.alice.get(`/rooms/${e(h.room)}/state/m.room.name/`)).toEqual({ name: 'Fortress' });
    expect(await h.alice.get(`/rooms/${e(h.room)}/event/${e(alicesMessage)}`)).toMatchObject({ content: { body: 'mine to keep' } });
    await h.expectUnharmed(before);
  });

  it('does not accept a PDU citing prev_events or auth_events it cannot get (the origin answers no /get_missing_events)', async () => {
    const before = await h.stateOf();
    const orphan = await h.mallory.build({ ...message('orphan'), prevEventIds: [`$${'A'.repeat(43)}`] });
    h.expectRefused(await h.mallory.send([orphan.pdu]), orphan.eventId);
    expect(h.remote.received.some((request) => request.path.startsWith('/_matrix/federation/v1/get_missing_events/'))).toBe(true);
    const authless = await h.mallory.build({ ...message('authless'), authEventIds: [...await ownAuthEvents(), `$${'B'.repeat(43)}`] });
    h.expectRefused(await h.mallory.send([authless.pdu]), authless.eventId);
    for (const eventId of [orphan.eventId, authless.eventId]) await h.expectUnknownToAlice(eventId);
    await h.expectUnharmed(before);
  });

  it('drops a PDU not in its room version\'s format (a string depth)', async () => {
    const before = await h.stateOf();
    const stringDepth = await h.mallory.build(message('string depth'), { before: (pdu) => { pdu.depth = String(pdu.depth); } });
    h.expectNotAccepted(await h.mallory.send([stringDepth.pdu]), stringDepth.eventId);
    await h.expectUnknownToAlice(stringDepth.eventId);
    await h.expectUnharmed(before);
  });

  it('never takes a PDU\'s own `event_id` field for its id (v3+: the receiver computes it)', async () => {
    const before = await h.stateOf();
    const alicesMessage = await h.alice.send(h.room, 'the original');
    const impostor = await h.mallory.build(message('the impostor'), { before: (pdu) => { pdu.event_id = alicesMessage; } });
    expect(impostor.eventId).not.toBe(alicesMessage);
    const answer = await h.mallory.send([impostor.pdu]);
    expect(answer.status).toBe(200);
    expect(answer.body.pdus?.[alicesMessage]).toBeUndefined();
    expect(await h.alice.get(`/rooms/${e(h.room)}/event/${e(alicesMessage)}`)).toMatchObject({ sender: h.alice.userId, content: { body: 'the original' } });
    await h.expectUnharmed(before);
  });

  it('drops PDUs with values outside canonical JSON (integers beyond 2^53, floats) and events over 64 KiB', async () => {
    const before = await h.stateOf();
    const attacks = [
      await h.mallory.build(message('x'.repeat(70_000))),
      await h.mallory.build(message('deep'), { loosely: true, before: (pdu) => { pdu.depth = 2 ** 60; } }),
      await h.mallory.build(message('big number', { n: 2 ** 60 }), { loosely: true }),
      await h.mallory.build(message('float', { n: 1.5 }), { loosely: true }),
    ];
    const answer = await h.mallory.send(attacks.map((attack) => attack.pdu));
    for (const attack of attacks) {
      h.expectNotAccepted(answer, attack.eventId);
      await h.expectUnknownToAlice(attack.eventId);
    }
    await h.expectUnharmed(before);
  });

  it('drops PDUs whose sender is on a server that did not sign them (a local user, a third server)', async () => {
    const before = await h.stateOf();
    const asAlice = await h.mallory.build({ type: 'm.room.name', stateKey: '', content: { name: 'Alice says so' }, sender: h.alice.userId });
    const asThird = await h.mallory.build({ ...message('from elsewhere'), sender: '@eve:127.0.0.1:9', authEventIds: await ownAuthEvents() });
    const answer = await h.mallory.send([asAlice.pdu, asThird.pdu]);
    for (const event of [asAlice, asThird]) {
      h.expectRefused(answer, event.eventId);
      await h.expectUnknownToAlice(event.eventId);
    }
    await h.expectUnharmed(before);
  });

  it('drops a restricted room\'s join that claims Alice authorised it, unsigned or forged for Strata', async () => {
    const allowed = await h.alice.createRoom({ preset: 'private_chat' });
    const restricted = await h.alice.createRoom({
      preset: 'private_chat', initial_state: [
        { type: 'm.room.join_rules', state_key: '', content: { join_rule: 'restricted', allow: [{ type: 'm.room_membership', room_id: allowed }] } },
        { type: 'm.room.history_visibility', state_key: '', content: { history_visibility: 'world_readable' } },
      ],
    });
    const made = await h.remote.request('GET', `/_matrix/federation/v1/make_join/${e(restricted)}/${e(h.mallory.userId)}?ver=${h.mallory.rules.id}`);
    expect(made.status, JSON.stringify(made.body)).toBeGreaterThanOrEqual(400);
    const state = await h.alice.get(`/rooms/${e(restricted)}/state`) as unknown as Body[];
    const idOf = (type: string, stateKey = ''): string => state.find((event) => event.type === type && event.state_key === stateKey)!.event_id as string;
    const author = remoteAuthor(h.remote, h.alice, restricted, h.mallory.userId, h.mallory.rules);
    const fields = {
      type: 'm.room.member', stateKey: h.mallory.userId, content: { membership: 'join', join_authorised_via_users_server: h.alice.userId },
      authEventIds: [
        ...(h.mallory.rules.eventFormat.roomIdIsCreateEventHash ? [] : [idOf('m.room.create')]),
        idOf('m.room.power_levels'), idOf('m.room.join_rules'), idOf('m.room.member', h.alice.userId),
      ],
    };
    const unsigned = await author.build(fields);
    const strataKeyId = Object.keys((await (await fetch(`${h.server.url}/_matrix/key/v2/server`)).json() as Body).verify_keys as Body)[0]!;
    const forger = signingKeyFromSeed(h.server.serverName, strataKeyId, new Uint8Array(32).fill(77));
    const built = await author.build(fields);
    const forged = { ...built, pdu: addEventSignature(built.pdu, h.mallory.rules, forger) };
    for (const join of [unsigned, forged]) {
      h.expectRefused(await author.send([join.pdu]), join.eventId);
      await h.expectUnknownToAlice(join.eventId);
    }
    expect(Object.keys((await h.alice.get(`/rooms/${e(restricted)}/joined_members`)).joined as Body)).toEqual([h.alice.userId]);
  });

  it('soft-fails what its prev events allow but the current state forbids (a banned user\'s message): never shown, no state change', async () => {
    // Built on the room before the ban (her membership a join), sent after it.
    const late = await h.mallory.build(message('from beyond the ban'));
    await h.alice.post(`/rooms/${e(h.room)}/ban`, { user_id: h.mallory.userId, reason: 'hostile' });
    const before = await h.stateOf();
    // Soft failure need not be an error in the answer (Synapse answers `{}`): what counts is below.
    expect((await h.mallory.send([late.pdu])).status).toBe(200);
    h.refusedIds.add(late.eventId);
    expect(await h.stateOf()).toEqual(before);
    await h.alice.post(`/rooms/${e(h.room)}/unban`, { user_id: h.mallory.userId });
    await joinAsRemote(h.remote, h.alice, h.room, 'mallory');
    await h.expectUnharmed(await h.stateOf());
  });

  it('never shows Alice a refused event, in /sync or /messages', async () => {
    expect(h.refusedIds.size).toBe(20);
    const sync = await h.alice.sync({ since, timeout: 0, filter: WIDE_TIMELINE });
    const shown = new Set([
      ...timelineOf(sync, h.room).map((event) => event.event_id as string),
      ...((sync.rooms?.join?.[h.room]?.state?.events as Body[] | undefined) ?? []).map((event) => event.event_id as string),
    ]);
    expect(shown.size).toBeGreaterThan(8);
    const page = await h.alice.get(`/rooms/${e(h.room)}/messages`, { dir: 'b', limit: 1000 });
    for (const event of page.chunk as Body[]) shown.add(event.event_id as string);
    expect([...h.refusedIds].filter((eventId) => shown.has(eventId))).toEqual([]);
  });
});
