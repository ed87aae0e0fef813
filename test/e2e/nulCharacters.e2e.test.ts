// U+0000 end to end, in both deployments. Canonical JSON allows it in event content, PostgreSQL
// stores it nowhere: an event carrying one is kept exactly (and never stops the rooms projection,
// which would take every room of its partition down with it); elsewhere it is bad input, not a
// server error; in a path or query it is refused before routing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MatrixClient, e, startTestServer, timelineOf, type Body, type ServerMode, type TestServer, type UserClient } from '../harness/index.ts';

describe.each<ServerMode>(['embedded', 'distributed'])('U+0000 (%s)', (mode) => {
  let server: TestServer;
  let client: MatrixClient;
  let alice: UserClient;
  let bob: UserClient;

  beforeAll(async () => {
    server = await startTestServer({ mode });
    client = new MatrixClient(server.url);
    [alice, bob] = await Promise.all(['alice', 'bob'].map(async (name) => client.as(await client.register(name))));
  });
  afterAll(() => server?.stop());

  it('keeps an event with U+0000 in its content exactly, and the room (and its partition) goes on', async () => {
    const roomId = await alice.createRoom({ preset: 'public_chat' });
    await bob.post(`/join/${e(roomId)}`);
    const since = (await bob.sync()).next_batch as string;
    const nul = (await alice.put(`/rooms/${e(roomId)}/send/m.room.message/nul1`, { msgtype: 'm.text', body: 'a\u0000b', 'k\u0000ey': ['\u0000'] })).event_id as string;
    await alice.put(`/rooms/${e(roomId)}/state/org.example.nul/`, { v: '\u0000' });
    const after = await alice.send(roomId, 'after');

    const synced = await bob.syncUntil((sync) => timelineOf(sync, roomId).some((event) => event.event_id === after), { since });
    const delivered = timelineOf(synced, roomId).find((event) => event.event_id === nul);
    expect(delivered?.content).toEqual({ msgtype: 'm.text', body: 'a\u0000b', 'k\u0000ey': ['\u0000'] });
    expect((await bob.get(`/rooms/${e(roomId)}/event/${e(nul)}`)).content).toEqual({ msgtype: 'm.text', body: 'a\u0000b', 'k\u0000ey': ['\u0000'] });
    expect(await bob.get(`/rooms/${e(roomId)}/state/org.example.nul/`)).toEqual({ v: '\u0000' });
    const page = await bob.get(`/rooms/${e(roomId)}/messages`, { dir: 'b', limit: 3 });
    expect((page.chunk as Body[]).map((event) => event.event_id)).toContain(nul);

    // Redacted, it is the redacted form that is served.
    await alice.put(`/rooms/${e(roomId)}/redact/${e(nul)}/r1`, {});
    await expect.poll(async () => (await bob.get(`/rooms/${e(roomId)}/event/${e(nul)}`)).content).toEqual({});
  });

  it('refuses U+0000 in a path or query with M_INVALID_PARAM', async () => {
    await alice.fails('GET', `/rooms/%00${e('!x:y')}/state`, { status: 400, errcode: 'M_INVALID_PARAM' });
    await alice.fails('GET', `/profile/${e(alice.userId)}%00/displayname`, { status: 400, errcode: 'M_INVALID_PARAM' });
    await alice.fails('GET', '/sync', { status: 400, errcode: 'M_INVALID_PARAM' }, { query: { since: '\u0000' } });
  });

  it('answers U+0000 in data it cannot store with M_BAD_JSON, not a server error', async () => {
    await alice.fails('POST', `/user/${e(alice.userId)}/filter`, { status: 400, errcode: 'M_BAD_JSON' }, { json: { room: { timeline: { types: ['\u0000'] } } } });
    await alice.fails('PUT', `/user/${e(alice.userId)}/account_data/org.example.nul`, { status: 400, errcode: 'M_BAD_JSON' }, { json: { v: '\u0000' } });
    // The server is fine afterwards.
    expect(await alice.get('/account/whoami')).toMatchObject({ user_id: alice.userId });
  });
});
