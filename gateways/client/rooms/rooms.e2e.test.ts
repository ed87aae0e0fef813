// The room endpoints over real HTTP: accounts + rooms routers in one Koa app on the embedded log,
import { createMemoryAccountStore } from '../../../test/builders/index.ts';
// PGlite and the running rooms projection.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccounts, type Accounts } from '../../../domain/app/accounts/index.ts';
import { createArgon2PasswordHasher, cryptoRandom, systemClock } from '../../../infra/stores/index.ts';
import { startRoomsStack, type RoomsStack } from '../../../test/harness/index.ts';
import { serveTestApp, type TestApp } from '../../../test/harness/index.ts';
import { createAccountsRouter } from '../accounts/index.ts';
import { createRoomsRouter } from './router.ts';

const V3 = '/_matrix/client/v3';
type Body = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let server: TestApp;
let stack: RoomsStack;
let accounts: Accounts;
let alice: string;
let bob: string;

const call = async (method: string, path: string, token?: string, body?: unknown): Promise<{ status: number; body: Body }> => {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  const response = await fetch(`${server.url}${V3}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  return { status: response.status, body: (await response.json()) as Body };
};
const ok = async (method: string, path: string, token?: string, body?: unknown): Promise<Body> => {
  const reply = await call(method, path, token, body);
  if (reply.status !== 200) throw new Error(`${method} ${path} → ${reply.status} ${JSON.stringify(reply.body)}`);
  return reply.body;
};
const e = encodeURIComponent;

const register = async (username: string): Promise<string> =>
  (await ok('POST', '/register', undefined, { username, password: 'pw pw pw', auth: { type: 'm.login.dummy' } })).access_token as string;

beforeAll(async () => {
  const store = createMemoryAccountStore();
  // The accounts' hook is wired to the rooms use-cases once they exist, as the composition root does.
  const hook: { rooms?: RoomsStack['rooms'] } = {};
  accounts = createAccounts({
    store, hasher: createArgon2PasswordHasher({ memory: 1024, passes: 1, parallelism: 1 }), clock: systemClock, random: cryptoRandom,
    serverName: 'example.org', registration: 'open',
    onProfileChanged: (userId, profile) => hook.rooms?.onProfileChanged(userId, profile),
  });
  stack = await startRoomsStack({ profiles: store });
  hook.rooms = stack.rooms;
  server = await serveTestApp({
    routers: [
      createAccountsRouter({ accounts, rateLimits: { login: null, registration: null } }),
      createRoomsRouter({ rooms: stack.rooms, accounts }),
    ],
  });
  alice = await register('alice');
  bob = await register('bob');
});
afterAll(async () => {
  await server.close();
  await stack.close();
});

describe('room endpoints', () => {
  it('creates a room, invites, joins, sends and pages messages both ways', async () => {
    await ok('PUT', `/profile/${e('@alice:example.org')}/displayname`, alice, { displayname: 'Alice' });
    const { room_id: roomId } = await ok('POST', '/createRoom', alice, { name: 'Hall', topic: 'talk', preset: 'private_chat' });
    expect(roomId).toMatch(/^!/);
    expect((await call('POST', `/rooms/${e(roomId)}/join`, bob, {})).body.errcode).toBe('M_FORBIDDEN');
    await ok('POST', `/rooms/${e(roomId)}/invite`, alice, { user_id: '@bob:example.org' });
    expect(await ok('POST', `/join/${e(roomId)}`, bob, {})).toEqual({ room_id: roomId });
    expect((await ok('GET', '/joined_rooms', bob)).joined_rooms).toEqual([roomId]);
    const joined = (await ok('GET', `/rooms/${e(roomId)}/joined_members`, bob)).joined;
    expect(joined).toEqual({ '@alice:example.org': { display_name: 'Alice' }, '@bob:example.org': { display_name: 'bob' } });

    const sent: string[] = [];
    for (let i = 0; i < 5; i++) {
      sent.push((await ok('PUT', `/rooms/${e(roomId)}/send/m.room.message/t${i}`, i % 2 === 0 ? alice : bob, { msgtype: 'm.text', body: `m${i}` })).event_id);
    }
    const back = await ok('GET', `/rooms/${e(roomId)}/messages?dir=b&limit=3`, alice);
    expect(back.chunk.map((event: Body) => event.event_id)).toEqual([sent[4], sent[3], sent[2]]);
    expect(back.chunk[0].unsigned.transaction_id).toBe('t4');
    expect(back.chunk[1].unsigned.transaction_id).toBeUndefined();
    const older = await ok('GET', `/rooms/${e(roomId)}/messages?dir=b&limit=2&from=${back.end}`, alice);
    expect(older.chunk.map((event: Body) => event.event_id)).toEqual([sent[1], sent[0]]);
    const forward = await ok('GET', `/rooms/${e(roomId)}/messages?dir=f&limit=100&filter=${e(JSON.stringify({ types: ['m.room.*'], not_senders: ['@bob:example.org'], not_types: ['m.room.member'] }))}`, alice);
    const types = forward.chunk.map((event: Body) => event.type);
    expect(types[0]).toBe('m.room.create');
    expect(forward.chunk.filter((event: Body) => event.type === 'm.room.message').map((event: Body) => event.content.body)).toEqual(['m0', 'm2', 'm4']);
    expect(forward.end).toBeUndefined();

    const event = await ok('GET', `/rooms/${e(roomId)}/event/${e(sent[2]!)}`, bob);
    expect(event).toMatchObject({ event_id: sent[2], room_id: roomId, sender: '@alice:example.org', content: { body: 'm2' } });
    const context = await ok('GET', `/rooms/${e(roomId)}/context/${e(sent[2]!)}?limit=2`, bob);
    expect(context.events_before.map((x: Body) => x.event_id)).toEqual([sent[1]]);
    expect(context.events_after.map((x: Body) => x.event_id)).toEqual([sent[3]]);
    expect(context.state.some((x: Body) => x.type === 'm.room.name')).toBe(true);

    const members = await ok('GET', `/rooms/${e(roomId)}/members?membership=join`, alice);
    expect(members.chunk.map((x: Body) => x.state_key).sort()).toEqual(['@alice:example.org', '@bob:example.org']);

    // A profile change reaches the member event in every joined room.
    await ok('PUT', `/profile/${e('@bob:example.org')}/displayname`, bob, { displayname: 'Bobby' });
    expect((await ok('GET', `/rooms/${e(roomId)}/joined_members`, alice)).joined['@bob:example.org']).toEqual({ display_name: 'Bobby' });
  });

  it('reads and writes state, redacts, and hides rooms from non-members', async () => {
    const { room_id: roomId } = await ok('POST', '/createRoom', alice, { name: 'Secret' });
    const carol = await register('carol');
    expect((await call('GET', `/rooms/${e(roomId)}/messages?dir=b`, carol)).body.errcode).toBe('M_FORBIDDEN');
    expect((await call('GET', `/rooms/${e(roomId)}/state`, carol)).status).toBe(403);
    expect((await call('PUT', `/rooms/${e(roomId)}/send/m.room.message/x`, carol, { body: 'hi' })).body.errcode).toBe('M_FORBIDDEN');

    expect(await ok('GET', `/rooms/${e(roomId)}/state/m.room.name`, alice)).toEqual({ name: 'Secret' });
    const renamed = (await ok('PUT', `/rooms/${e(roomId)}/state/m.room.name/`, alice, { name: 'Open' })).event_id;
    const asEvent = await ok('GET', `/rooms/${e(roomId)}/state/m.room.name/?format=event`, alice);
    expect(asEvent).toMatchObject({ event_id: renamed, content: { name: 'Open' }, unsigned: { prev_content: { name: 'Secret' } } });
    expect((await call('GET', `/rooms/${e(roomId)}/state/m.room.topic`, alice)).body.errcode).toBe('M_NOT_FOUND');
    const state = await ok('GET', `/rooms/${e(roomId)}/state`, alice);
    expect(state.map((x: Body) => x.type)).toEqual(expect.arrayContaining(['m.room.create', 'm.room.power_levels', 'm.room.name']));

    const message = (await ok('PUT', `/rooms/${e(roomId)}/send/m.room.message/r1`, alice, { msgtype: 'm.text', body: 'oops' })).event_id;
    const redaction = (await ok('PUT', `/rooms/${e(roomId)}/redact/${e(message)}/red1`, alice, { reason: 'typo' })).event_id;
    const redacted = await ok('GET', `/rooms/${e(roomId)}/event/${e(message)}`, alice);
    expect(redacted.content).toEqual({});
    expect(redacted.unsigned.redacted_because).toMatchObject({ event_id: redaction, type: 'm.room.redaction', content: { reason: 'typo' } });
    expect((await call('GET', `/rooms/${e(roomId)}/event/${e('$missing')}`, alice)).body.errcode).toBe('M_NOT_FOUND');
    expect((await call('PUT', `/rooms/${e(roomId)}/send/m.room.message/big`, alice, { body: 'x'.repeat(70_000) })).body.errcode).toBe('M_TOO_LARGE');
  });

  it('manages aliases, the directory, knocking, bans and upgrades', async () => {
    const created = await ok('POST', '/createRoom', alice, { room_alias_name: 'lobby', visibility: 'public', name: 'Lobby', topic: 'welcome' });
    const roomId = created.room_id as string;
    expect((await call('POST', '/createRoom', alice, { room_alias_name: 'lobby' })).body.errcode).toBe('M_ROOM_IN_USE');
    expect(await ok('GET', `/directory/room/${e('#lobby:example.org')}`)).toEqual({ room_id: roomId, servers: ['example.org'] });
    await ok('PUT', `/directory/room/${e('#hall:example.org')}`, alice, { room_id: roomId });
    expect((await ok('GET', `/rooms/${e(roomId)}/aliases`, alice)).aliases).toEqual(['#hall:example.org', '#lobby:example.org']);
    await ok('DELETE', `/directory/room/${e('#hall:example.org')}`, alice);
    expect((await call('GET', `/directory/room/${e('#hall:example.org')}`)).status).toBe(404);

    expect(await ok('POST', `/join/${e('#lobby:example.org')}`, bob, {})).toEqual({ room_id: roomId });
    expect((await call('POST', `/join/${e('#elsewhere:other.org')}`, bob, {})).body.errcode).toBe('M_NOT_FOUND');
    const listed = await ok('GET', '/publicRooms');
    expect(listed.chunk).toContainEqual(expect.objectContaining({ room_id: roomId, name: 'Lobby', topic: 'welcome', num_joined_members: 2, canonical_alias: '#lobby:example.org', join_rule: 'public' }));
    expect((await ok('POST', '/publicRooms', bob, { filter: { generic_search_term: 'nothing-like-it' } })).chunk).toEqual([]);
    expect(await ok('GET', `/directory/list/room/${e(roomId)}`)).toEqual({ visibility: 'public' });

    await ok('POST', `/rooms/${e(roomId)}/ban`, alice, { user_id: '@bob:example.org', reason: 'spam' });
    expect((await call('POST', `/rooms/${e(roomId)}/join`, bob, {})).body.errcode).toBe('M_FORBIDDEN');
    await ok('POST', `/rooms/${e(roomId)}/unban`, alice, { user_id: '@bob:example.org' });
    await ok('POST', `/rooms/${e(roomId)}/join`, bob, {});
    await ok('POST', `/rooms/${e(roomId)}/kick`, alice, { user_id: '@bob:example.org' });
    await ok('POST', `/rooms/${e(roomId)}/forget`, bob, {});

    const knockable = (await ok('POST', '/createRoom', alice, { initial_state: [{ type: 'm.room.join_rules', content: { join_rule: 'knock' } }] })).room_id;
    expect(await ok('POST', `/knock/${e(knockable)}`, bob, { reason: 'let me in' })).toEqual({ room_id: knockable });
    const knocks = await ok('GET', `/rooms/${e(knockable)}/members?membership=knock`, alice);
    expect(knocks.chunk.map((x: Body) => x.state_key)).toEqual(['@bob:example.org']);

    const upgraded = await ok('POST', `/rooms/${e(roomId)}/upgrade`, alice, { new_version: '12' });
    const replacement = upgraded.replacement_room as string;
    expect(await ok('GET', `/rooms/${e(roomId)}/state/m.room.tombstone`, alice)).toMatchObject({ replacement_room: replacement });
    expect(await ok('GET', `/rooms/${e(replacement)}/state/m.room.create`, alice)).toMatchObject({ room_version: '12', predecessor: { room_id: roomId } });
    expect(await ok('GET', `/rooms/${e(replacement)}/state/m.room.name`, alice)).toEqual({ name: 'Lobby' });
    expect((await ok('GET', `/directory/room/${e('#lobby:example.org')}`)).room_id).toBe(replacement);
    expect((await call('POST', `/rooms/${e(roomId)}/upgrade`, alice, { new_version: '999' })).body.errcode).toBe('M_UNSUPPORTED_ROOM_VERSION');
  });

  it('answers unknown rooms and versions with the spec errors', async () => {
    expect((await call('POST', '/createRoom', alice, { room_version: '999' })).body).toMatchObject({ errcode: 'M_UNSUPPORTED_ROOM_VERSION' });
    expect((await call('POST', `/join/${e('!unknown:other.org')}`, alice, {})).body.errcode).toBe('M_NOT_FOUND');
    // An unknown room answers as one alice is not in: nobody learns which room ids exist.
    expect((await call('POST', `/rooms/${e('!unknown:example.org')}/invite`, alice, { user_id: '@bob:example.org' })).body)
      .toEqual({ errcode: 'M_FORBIDDEN', error: 'User @alice:example.org not in room !unknown:example.org' });
    expect((await call('GET', '/joined_rooms')).body.errcode).toBe('M_MISSING_TOKEN');
  });
});
