// Transactions from a hostile federation peer (server-server-api § Transactions, `PUT /send`): too
// many PDUs or EDUs (400), a signature for another destination (401), a replayed transaction id
// (the first answer, nothing twice), a server the room's m.room.server_acl bans (its PDUs, typing,
// receipts and make_join), EDUs about another server's users, joins for another server's users or
// by a server whose key expired, bodies over the size and nesting bounds, and a per-PDU `error` for
// every PDU that is not taken in. The stage is test/harness/hostileRoom.ts: Alice's public room,
// the fake server's Mallory joined to it. Both deployments.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { e, ephemeralOf, timelineOf, type Body, type ServerMode } from '../harness/index.ts';
import { startFakeRemoteServer } from '../harness/fakeRemoteServer.ts';
import { startHostileRoom, WIDE_TIMELINE, type HostileRoom } from '../harness/hostileRoom.ts';
import { joinAsRemote } from '../harness/remoteMember.ts';

describe.each<ServerMode>(['embedded', 'distributed'])('transactions of a hostile federation peer (%s)', (mode) => {
  let h: HostileRoom;
  const message = (body: string, extra: Body = {}) => ({ type: 'm.room.message', content: { msgtype: 'm.text', body, ...extra } });
  const typing = (userId: string) => ({ edu_type: 'm.typing', content: { room_id: h.room, user_id: userId, typing: true } });

  beforeAll(async () => {
    h = await startHostileRoom(mode);
  }, 120_000);
  afterAll(() => h?.stop());

  it('refuses a transaction of 51 PDUs or 101 EDUs with 400, processing none of it', async () => {
    const before = await h.stateOf();
    const refused = await h.mallory.build(message('in a refused transaction'));
    expect(await h.mallory.send(Array.from({ length: 51 }, () => refused.pdu))).toMatchObject({ status: 400 });
    expect(await h.mallory.send([refused.pdu], Array.from({ length: 101 }, () => typing(h.mallory.userId)))).toMatchObject({ status: 400 });
    h.refusedIds.add(refused.eventId);
    await h.expectUnknownToAlice(refused.eventId);
    await h.expectUnharmed(before);
  });

  it('refuses with 401 a transaction signed for another destination', async () => {
    const before = await h.stateOf();
    const misaddressed = await h.mallory.build(message('misaddressed'));
    const answer = await h.remote.request('PUT', '/_matrix/federation/v1/send/misaddressed', {
      origin: h.remote.serverName, origin_server_ts: Date.now(), pdus: [misaddressed.pdu], edus: [],
    }, { destination: 'elsewhere.example' });
    expect(answer).toMatchObject({ status: 401, body: { errcode: 'M_UNAUTHORIZED' } });
    h.refusedIds.add(misaddressed.eventId);
    await h.expectUnknownToAlice(misaddressed.eventId);
    await h.expectUnharmed(before);
  });

  it('answers a replayed transaction id as the first time, and takes its PDU in once', async () => {
    const start = (await h.alice.sync({ timeout: 0 })).next_batch as string;
    const once = await h.mallory.build(message('said once'));
    const first = await h.mallory.send([once.pdu], [], 'replayed');
    expect(first).toEqual({ status: 200, body: { pdus: { [once.eventId]: {} } } });
    expect(await h.mallory.send([once.pdu], [], 'replayed')).toEqual(first);
    // Another transaction id with other content: still the first answer, the new PDU not taken in.
    const other = await h.mallory.build(message('smuggled in a replay'));
    expect(await h.mallory.send([other.pdu], [], 'replayed')).toEqual(first);
    await h.expectUnknownToAlice(other.eventId);
    // The same PDU in a new transaction is known: handled, not stored again.
    expect(await h.mallory.send([once.pdu])).toEqual(first);
    const sync = await h.alice.sync({ since: start, timeout: 0, filter: WIDE_TIMELINE });
    expect(timelineOf(sync, h.room).filter((event) => event.event_id === once.eventId)).toHaveLength(1);
    const page = await h.alice.get(`/rooms/${e(h.room)}/messages`, { dir: 'b', limit: 20 });
    expect((page.chunk as Body[]).filter((event) => event.content?.body === 'said once')).toHaveLength(1);
  });

  it('refuses every PDU of a server the room\'s m.room.server_acl bans, until the ban is lifted', async () => {
    const banned = await h.mallory.build(message('banned'));
    await h.alice.put(`/rooms/${e(h.room)}/state/m.room.server_acl/`, { allow: ['*'], deny: ['127.0.0.1'], allow_ip_literals: true });
    const before = await h.stateOf();
    h.expectRefused(await h.mallory.send([banned.pdu]), banned.eventId);
    await h.expectUnknownToAlice(banned.eventId);
    expect(await h.stateOf()).toEqual(before);
    await h.alice.put(`/rooms/${e(h.room)}/state/m.room.server_acl/`, { allow: ['*'], deny: [], allow_ip_literals: true });
    await h.expectUnharmed(await h.stateOf());
  });

  it('ignores the typing and receipts of a server the room\'s m.room.server_acl bans, and answers its make_join 403', async () => {
    const read = await h.alice.send(h.room, 'read me');
    const receipt = { edu_type: 'm.receipt', content: { [h.room]: { 'm.read': { [h.mallory.userId]: { event_ids: [read], data: { ts: Date.now() } } } } } };
    const fromMallory = (sync: Body): Body[] => ephemeralOf(sync, h.room).filter((edu) => JSON.stringify(edu.content).includes(h.mallory.userId));
    await h.alice.put(`/rooms/${e(h.room)}/state/m.room.server_acl/`, { allow: ['*'], deny: ['127.0.0.1'], allow_ip_literals: true });
    let duringBan: Body[];
    try {
      const start = (await h.alice.sync({ timeout: 0 })).next_batch as string;
      expect(await h.mallory.send([], [typing(h.mallory.userId), receipt])).toMatchObject({ status: 200 });
      const made = await h.remote.request('GET', `/_matrix/federation/v1/make_join/${e(h.room)}/${e(`@other:${h.remote.serverName}`)}?ver=12`);
      expect(made).toMatchObject({ status: 403, body: { errcode: 'M_FORBIDDEN' } });
      duringBan = fromMallory(await h.alice.sync({ since: start, timeout: 1_000 }));
    } finally {
      // Lifted whatever happened, so the later tests find the room as before.
      await h.alice.put(`/rooms/${e(h.room)}/state/m.room.server_acl/`, { allow: ['*'], deny: [], allow_ip_literals: true });
    }
    expect(duringBan, 'EDUs of a banned server reached Alice').toEqual([]);
    // Once the ban is lifted, the same EDUs are taken.
    const lifted = (await h.alice.sync({ timeout: 0 })).next_batch as string;
    expect(await h.mallory.send([], [typing(h.mallory.userId), receipt])).toMatchObject({ status: 200 });
    const shown = await h.alice.syncUntil((sync) => fromMallory(sync).length >= 2, { since: lifted });
    expect(fromMallory(shown).map((edu) => edu.type).sort()).toEqual(['m.receipt', 'm.typing']);
  });

  it('takes no EDU about another server\'s user (Alice typing), but Mallory\'s own', async () => {
    // Mallory stops typing first (an earlier test may have left her typing), so her start is news.
    expect(await h.mallory.send([], [{ ...typing(h.mallory.userId), content: { ...typing(h.mallory.userId).content, typing: false } }])).toMatchObject({ status: 200 });
    const start = (await h.alice.sync({ timeout: 0 })).next_batch as string;
    expect(await h.mallory.send([], [typing(h.alice.userId)])).toMatchObject({ status: 200 });
    expect(await h.mallory.send([], [typing(h.mallory.userId)])).toMatchObject({ status: 200 });
    const sync = await h.alice.syncUntil((response) => ephemeralOf(response, h.room).some((edu) => edu.type === 'm.typing'), { since: start });
    const typists = ephemeralOf(sync, h.room).filter((edu) => edu.type === 'm.typing').flatMap((edu) => edu.content.user_ids as string[]);
    expect(typists).toEqual([h.mallory.userId]);
  });

  it('answers an `error` for each PDU it drops as malformed, as for the others (transactions.yaml: a result per PDU)', async () => {
    const before = await h.stateOf();
    const malformed = [
      await h.mallory.build(message('string depth'), { before: (pdu) => { pdu.depth = String(pdu.depth); } }),
      await h.mallory.build(message('x'.repeat(70_000))),
      await h.mallory.build(message('big number', { n: 2 ** 60 }), { loosely: true }),
      await h.mallory.build(message('float', { n: 1.5 }), { loosely: true }),
    ];
    const answer = await h.mallory.send(malformed.map((event) => event.pdu));
    const missing = malformed.map((event) => event.eventId).filter((eventId) => answer.body.pdus?.[eventId]?.error === undefined);
    expect(missing, `no result for ${missing.length} of ${malformed.length} dropped PDUs: ${JSON.stringify(answer.body)}`).toEqual([]);
    for (const event of malformed) h.expectRefused(answer, event.eventId);
    await h.expectUnharmed(before);
  });

  it('refuses make_join and send_join for a user of another server than the origin (Alice, a third server)', async () => {
    const before = await h.stateOf();
    for (const userId of [h.alice.userId, '@eve:127.0.0.1:9']) {
      const made = await h.remote.request('GET', `/_matrix/federation/v1/make_join/${e(h.room)}/${e(userId)}?ver=12`);
      expect(made.status, JSON.stringify(made.body)).toBe(403);
    }
    const impostor = await h.mallory.build({ type: 'm.room.member', stateKey: '@eve:127.0.0.1:9', sender: '@eve:127.0.0.1:9', content: { membership: 'join' } });
    const joined = await h.remote.request('PUT', `/_matrix/federation/v2/send_join/${e(h.room)}/${e(impostor.eventId)}`, impostor.pdu);
    expect(joined.status, JSON.stringify(joined.body)).toBe(403);
    await h.expectUnknownToAlice(impostor.eventId);
    await h.expectUnharmed(before);
  });

  it('refuses a transaction body over 12 MB (413) or nested beyond 128 levels (400), and stays up', async () => {
    const before = await h.stateOf();
    const padding = 'p'.repeat(13 * 1024 * 1024);
    const huge = await h.remote.request('PUT', '/_matrix/federation/v1/send/huge', { origin: h.remote.serverName, pdus: [], edus: [], padding });
    expect(huge).toMatchObject({ status: 413, body: { errcode: 'M_TOO_LARGE' } });
    let nested: Body = { leaf: true };
    for (let level = 0; level < 200; level++) nested = { nested };
    const deep = await h.mallory.build(message('deep'));
    const answer = await h.mallory.send([{ ...deep.pdu, content: { ...(deep.pdu.content as Body), nested } }]);
    expect(answer).toMatchObject({ status: 400, body: { errcode: 'M_BAD_JSON' } });
    await h.expectUnknownToAlice(deep.eventId);
    await h.expectUnharmed(before);
  });

  it('does not let a server whose published key has expired join its user', async () => {
    const before = await h.stateOf();
    const stale = await startFakeRemoteServer(h.server, { keyValidForMs: -60 * 60 * 1000 });
    try {
      await expect(joinAsRemote(stale, h.alice, h.room, 'stale')).rejects.toThrow(/answered (400|401|403)/);
    } finally {
      await stale.stop();
    }
    await h.expectUnharmed(before);
  });
});
