// Whether a room exists is not told to someone outside it: every membership change and room read
// answers an unknown room id exactly as it answers a private room the requester is not in.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MatrixClient, e, startTestServer, type Body, type TestServer, type UserClient } from '../harness/index.ts';

describe('rooms one is not in, existing or not', () => {
  let server: TestServer;
  let alice: UserClient;
  let carol: UserClient;
  let hall: string;
  let unknown: string;
  let message: string;

  beforeAll(async () => {
    server = await startTestServer({ mode: 'embedded' });
    const client = new MatrixClient(server.url);
    [alice, carol] = await Promise.all(['alice', 'carol'].map(async (name) => client.as(await client.register(name))));
    hall = await alice.createRoom({ preset: 'private_chat' });
    message = (await alice.put(`/rooms/${e(hall)}/send/m.room.message/t1`, { msgtype: 'm.text', body: 'hi' })).event_id as string;
    unknown = `!doesNotExist:${server.serverName}`;
  });
  afterAll(() => server?.stop());

  /** Carol's answer for the room, with the room id replaced so the two rooms compare. */
  const answer = async (roomId: string, method: string, rest: string, json?: Body, query?: Record<string, string>) => {
    const reply = await carol.client.request(method, `/rooms/${e(roomId)}${rest}`, {
      token: carol.session.accessToken, ...(json === undefined ? {} : { json }), ...(query === undefined ? {} : { query }),
    });
    return { status: reply.status, body: JSON.parse(JSON.stringify(reply.body).replaceAll(roomId, '<room>')) as Body };
  };

  it.each([
    ['leave', 'POST', '/leave', {}],
    ['forget', 'POST', '/forget', {}],
    ['invite', 'POST', '/invite', { user_id: 'alice' }],
    ['kick', 'POST', '/kick', { user_id: 'alice' }],
    ['kick of a non-member', 'POST', '/kick', { user_id: 'nobody' }],
    ['ban', 'POST', '/ban', { user_id: 'alice' }],
    ['unban', 'POST', '/unban', { user_id: 'alice' }],
  ] as const)('%s answers 403 M_FORBIDDEN "not in room" for both', async (_name, method, rest, body) => {
    const json = 'user_id' in body ? { user_id: `@${body.user_id}:${server.serverName}` } : body;
    const known = await answer(hall, method, rest, json);
    expect(known).toEqual(await answer(unknown, method, rest, json));
    expect(known).toEqual({ status: 403, body: { errcode: 'M_FORBIDDEN', error: `User ${carol.session.userId} not in room <room>` } });
  });

  it.each([
    ['/state', 'GET', '/state', undefined],
    ['/state/{type}/{key}', 'GET', '/state/m.room.name/', undefined],
    ['/messages', 'GET', '/messages', { dir: 'b' }],
    ['/members', 'GET', '/members', undefined],
    ['/joined_members', 'GET', '/joined_members', undefined],
    ['/initialSync', 'GET', '/initialSync', undefined],
    ['/aliases', 'GET', '/aliases', undefined],
  ] as const)('%s answers the same for both', async (_name, method, rest, query) => {
    const known = await answer(hall, method, rest, undefined, query);
    expect(known).toEqual(await answer(unknown, method, rest, undefined, query));
    expect(known).toEqual({ status: 403, body: { errcode: 'M_FORBIDDEN', error: `User ${carol.session.userId} not in room <room>` } });
  });

  it.each([
    ['send', 'PUT', '/send/m.room.message/t9', { msgtype: 'm.text', body: 'hi' }],
    ['state', 'PUT', '/state/m.room.topic/', { topic: 'mine' }],
    ['own member state', 'PUT', '/state/m.room.member/@carol:localhost', { membership: 'join' }],
    ['redact', 'PUT', '/redact/$x/t9', {}],
    ['upgrade', 'POST', '/upgrade', { new_version: '11' }],
  ] as const)('%s answers 403 M_FORBIDDEN "not in room" for both', async (_name, method, rest, json) => {
    const path = rest.replace('@carol:localhost', encodeURIComponent(carol.session.userId)).replace('$x', encodeURIComponent(message));
    const known = await answer(hall, method, path, json);
    expect(known).toEqual(await answer(unknown, method, path, json));
    expect(known).toEqual({ status: 403, body: { errcode: 'M_FORBIDDEN', error: `User ${carol.session.userId} not in room <room>` } });
  });

  it('GET /events?room_id= (peeking) answers the same for both', async () => {
    const peek = async (roomId: string) => {
      const reply = await carol.client.request('GET', '/events', { token: carol.session.accessToken, query: { room_id: roomId, timeout: 0 } });
      return { status: reply.status, body: JSON.parse(JSON.stringify(reply.body).replaceAll(roomId, '<room>')) as Body };
    };
    const known = await peek(hall);
    expect(known).toEqual(await peek(unknown));
    expect(known).toEqual({ status: 403, body: { errcode: 'M_FORBIDDEN', error: `User ${carol.session.userId} not in room <room>` } });
  });

  it('/event and /context answer 404 for both', async () => {
    for (const rest of [`/event/${e(message)}`, `/context/${e(message)}`]) {
      const known = await answer(hall, 'GET', rest);
      expect(known).toEqual(await answer(unknown, 'GET', rest));
      expect(known).toEqual({ status: 404, body: { errcode: 'M_NOT_FOUND', error: 'Event not found' } });
    }
  });

  it('a member who left still leaves and forgets without error', async () => {
    await alice.post(`/rooms/${e(hall)}/invite`, { user_id: carol.session.userId });
    await carol.post(`/rooms/${e(hall)}/join`, {});
    expect(await carol.post(`/rooms/${e(hall)}/leave`, {})).toEqual({});
    expect(await carol.post(`/rooms/${e(hall)}/leave`, {})).toEqual({});
    expect(await carol.post(`/rooms/${e(hall)}/forget`, {})).toEqual({});
  });
});
