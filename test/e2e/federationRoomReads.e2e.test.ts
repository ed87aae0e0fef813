// The room reads of the server-server API against a whole Strata (PostgreSQL, and PGlite in the
// embedded deployment): a fake remote server, whose key Strata fetches through `federationFetch`,
// signs requests for /event, /state, /state_ids, /event_auth, /backfill, /get_missing_events,
// /timestamp_to_event and /hierarchy. It may read world_readable rooms (events from before they
// were come redacted); a room whose server ACL denies it, or a room it has no member in and whose
// history is not world_readable, answers 403; bad input answers 400.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  eventIdOf, ownServerKeys, roomVersionRules, signingKeyFromSeed, signXMatrixRequest, type JsonObject, type Pdu,
} from '../../domain/index.ts';
import { e, MatrixClient, startTestServer, type Body, type ServerMode, type TestServer, type UserClient } from '../harness/index.ts';

const REMOTE = 'remote.test';
const remoteKey = signingKeyFromSeed(REMOTE, 'ed25519:fake', new Uint8Array(32).fill(7));
const federationFetch = async (serverName: string, path: string): Promise<JsonObject> => {
  if (serverName !== REMOTE || !path.startsWith('/_matrix/key/v2/server')) throw new Error(`no such server ${serverName}${path}`);
  return ownServerKeys(remoteKey, [], Date.now() + 24 * 60 * 60 * 1000);
};

describe.each<ServerMode>(['embedded', 'distributed'])('federation room reads (%s)', (mode) => {
  let server: TestServer;
  let alice: UserClient;
  /** Joins the readable room and sends m0: his join's auth events hold the join rules. */
  let bob: UserClient;
  /** World-readable room: topic t1, messages m0…m5, topic t2 after m2. */
  let room: string;
  let messages: string[];
  let topics: string[];
  let stateIds: Map<string, string>;
  let version: string;

  const request = async (method: string, path: string, body?: JsonObject): Promise<{ status: number; body: Body }> => {
    const authorization = signXMatrixRequest({ method, uri: path, destination: server.serverName, ...(body === undefined ? {} : { content: body }) }, remoteKey);
    const response = await fetch(`${server.url}${path}`, {
      method, headers: { Authorization: authorization, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, body: await response.json() as Body };
  };
  const get = (path: string) => request('GET', `/_matrix/federation/v1${path}`);
  const ok = async (path: string, body?: JsonObject): Promise<Body> => {
    const answer = await request(body === undefined ? 'GET' : 'POST', `/_matrix/federation/v1${path}`, body);
    expect(answer, JSON.stringify(answer.body)).toMatchObject({ status: 200 });
    return answer.body;
  };
  const idOf = (pdu: Pdu): string => {
    const id = eventIdOf(pdu, roomVersionRules(version)!);
    if (!id.ok) throw new Error(id.error);
    return id.value;
  };
  const idsOf = (pdus: Pdu[]): string[] => pdus.map(idOf);
  const bodyOf = (pdu: Pdu): unknown => (pdu.content as Body).body;
  const stateKey = (type: string, key = ''): string => stateIds.get(`${type}|${key}`)!;

  beforeAll(async () => {
    server = await startTestServer({ mode, federationFetch });
    const client = new MatrixClient(server.url);
    alice = client.as(await client.register('alice'));
    bob = client.as(await client.register('bob'));
    room = await alice.createRoom({
      preset: 'public_chat', name: 'Readable',
      initial_state: [{ type: 'm.room.history_visibility', state_key: '', content: { history_visibility: 'world_readable' } }],
    });
    topics = [(await alice.put(`/rooms/${e(room)}/state/m.room.topic/`, { topic: 't1' })).event_id as string];
    await bob.post(`/join/${e(room)}`);
    messages = [];
    for (let i = 0; i < 6; i++) {
      messages.push(await (i === 0 ? bob : alice).send(room, `m${i}`));
      if (i === 2) topics.push((await alice.put(`/rooms/${e(room)}/state/m.room.topic/`, { topic: 't2' })).event_id as string);
    }
    const state = await alice.get(`/rooms/${e(room)}/state`) as unknown as Body[];
    stateIds = new Map(state.map((event) => [`${event.type}|${event.state_key}`, event.event_id as string]));
    version = (state.find((event) => event.type === 'm.room.create')!.content as Body).room_version as string ?? '1';
  }, 120_000);
  afterAll(() => server?.stop());

  it('/event answers the stored PDU in a transaction from us', async () => {
    const before = Date.now();
    const answer = await ok(`/event/${e(messages[1]!)}`);
    expect(answer.origin).toBe(server.serverName);
    expect(answer.origin_server_ts).toBeGreaterThanOrEqual(before);
    expect(answer.pdus).toHaveLength(1);
    expect(idOf(answer.pdus[0])).toBe(messages[1]);
    expect(bodyOf(answer.pdus[0])).toBe('m1');
    expect(answer.pdus[0].signatures[server.serverName]).toBeDefined();
    expect(await get(`/event/${e('$unknown')}`)).toMatchObject({ status: 404, body: { errcode: 'M_NOT_FOUND' } });
  });

  it('/state_ids and /state answer the state before the event, with the auth chain of that state', async () => {
    const atMessage = await ok(`/state_ids/${e(room)}?event_id=${e(messages[1]!)}`);
    const expected = [...stateIds.entries()].filter(([key]) => key !== 'm.room.topic|').map(([, id]) => id);
    expect(new Set(atMessage.pdu_ids)).toEqual(new Set([...expected, topics[0]]));
    for (const type of ['m.room.create', 'm.room.power_levels', 'm.room.join_rules']) expect(atMessage.auth_chain_ids).toContain(stateKey(type));
    expect(atMessage.auth_chain_ids).toContain(stateKey('m.room.member', alice.userId));
    // Bob's join is state; nothing cites it as an auth event yet.
    expect(atMessage.pdu_ids).toContain(stateKey('m.room.member', bob.userId));
    expect(atMessage.auth_chain_ids).not.toContain(stateKey('m.room.member', bob.userId));
    // The state before the second topic holds the first; before the message after it, the second.
    expect((await ok(`/state_ids/${e(room)}?event_id=${e(topics[1]!)}`)).pdu_ids).toContain(topics[0]);
    expect((await ok(`/state_ids/${e(room)}?event_id=${e(topics[1]!)}`)).pdu_ids).not.toContain(topics[1]);
    expect((await ok(`/state_ids/${e(room)}?event_id=${e(messages[3]!)}`)).pdu_ids).toContain(topics[1]);
    // The create event has no state before it.
    expect(await ok(`/state_ids/${e(room)}?event_id=${e(stateKey('m.room.create'))}`)).toEqual({ pdu_ids: [], auth_chain_ids: [] });

    const full = await ok(`/state/${e(room)}?event_id=${e(messages[1]!)}`);
    expect(new Set(idsOf(full.pdus))).toEqual(new Set(atMessage.pdu_ids));
    expect(new Set(idsOf(full.auth_chain))).toEqual(new Set(atMessage.auth_chain_ids));
  });

  it('/event_auth answers the full auth chain of the event', async () => {
    // Bob's message → his join → the join rules → alice's join, the power levels and the create event.
    const { auth_chain: chain } = await ok(`/event_auth/${e(room)}/${e(messages[0]!)}`);
    const ids = idsOf(chain);
    for (const type of ['m.room.create', 'm.room.power_levels', 'm.room.join_rules']) expect(ids).toContain(stateKey(type));
    expect(ids).toContain(stateKey('m.room.member', alice.userId));
    expect(ids).toContain(stateKey('m.room.member', bob.userId));
    expect(ids).not.toContain(stateKey('m.room.history_visibility'));
    expect(ids).not.toContain(messages[0]);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('/backfill walks back from v, newest first, v included, up to limit', async () => {
    const answer = await ok(`/backfill/${e(room)}?v=${e(messages[5]!)}&limit=3`);
    expect(answer.origin).toBe(server.serverName);
    expect(answer.pdus.map(bodyOf)).toEqual(['m5', 'm4', 'm3']);
    const all = await ok(`/backfill/${e(room)}?v=${e(messages[5]!)}&limit=1000`);
    const depths = all.pdus.map((pdu: Pdu) => pdu.depth as number);
    expect(depths).toEqual([...depths].sort((a, b) => b - a));
    expect(idOf(all.pdus[all.pdus.length - 1])).toBe(stateKey('m.room.create'));
    expect(all.pdus.length).toBeLessThanOrEqual(100);
    // Several v events, repeated: each event once.
    const two = await ok(`/backfill/${e(room)}?v=${e(messages[2]!)}&v=${e(messages[4]!)}&v=${e(messages[4]!)}&limit=3`);
    expect(idsOf(two.pdus)).toEqual([messages[4], messages[3], topics[1]]);
  });

  it('/get_missing_events walks back from latest_events to earliest_events, oldest first', async () => {
    const answer = await ok(`/get_missing_events/${e(room)}`, { earliest_events: [messages[0]!], latest_events: [messages[4]!], limit: 10, min_depth: 0 });
    expect(idsOf(answer.events)).toEqual([messages[1], messages[2], topics[1], messages[3]]);
    const limited = await ok(`/get_missing_events/${e(room)}`, { earliest_events: [], latest_events: [messages[5]!], limit: 2 });
    expect(idsOf(limited.events)).toEqual([messages[3], messages[4]]);
    // Synapse's cap: at most 20 events, however many are asked for and missing.
    const more = [];
    for (let i = 0; i < 22; i++) more.push(await alice.send(room, `n${i}`));
    const capped = await ok(`/get_missing_events/${e(room)}`, { earliest_events: [], latest_events: [more[21]!], limit: 1000 });
    expect(idsOf(capped.events)).toEqual(more.slice(1, 21));
  });

  it('/timestamp_to_event finds the event nearest a time in either direction', async () => {
    const ts = (await ok(`/event/${e(messages[2]!)}`)).pdus[0].origin_server_ts as number;
    const forward = await ok(`/timestamp_to_event/${e(room)}?ts=${ts}&dir=f`);
    expect(forward.origin_server_ts).toBe(ts);
    expect(forward.event_id).toBe(messages[2]);
    expect((await ok(`/timestamp_to_event/${e(room)}?ts=${ts}&dir=b`)).origin_server_ts).toBeLessThanOrEqual(ts);
    expect(await get(`/timestamp_to_event/${e(room)}?ts=${Date.now() + 3_600_000}&dir=f`)).toMatchObject({ status: 404, body: { errcode: 'M_NOT_FOUND' } });
  });

  it('refuses a room whose server ACL denies the origin, with 403 on every read', async () => {
    const denied = await alice.createRoom({
      preset: 'public_chat',
      initial_state: [{ type: 'm.room.history_visibility', state_key: '', content: { history_visibility: 'world_readable' } }],
    });
    const message = await alice.send(denied, 'hidden');
    expect((await get(`/state_ids/${e(denied)}?event_id=${e(message)}`)).status).toBe(200);
    await alice.put(`/rooms/${e(denied)}/state/m.room.server_acl/`, { allow: ['*'], deny: ['remote.*', 'evil.example'] });
    for (const path of [
      `/event/${e(message)}`, `/state_ids/${e(denied)}?event_id=${e(message)}`, `/state/${e(denied)}?event_id=${e(message)}`,
      `/event_auth/${e(denied)}/${e(message)}`, `/backfill/${e(denied)}?v=${e(message)}&limit=5`,
      `/timestamp_to_event/${e(denied)}?ts=0&dir=f`, `/hierarchy/${e(denied)}`,
    ]) {
      expect(await get(path), path).toMatchObject({ status: 403, body: { errcode: 'M_FORBIDDEN' } });
    }
    expect(await request('POST', `/_matrix/federation/v1/get_missing_events/${e(denied)}`, { earliest_events: [], latest_events: [message] }))
      .toMatchObject({ status: 403, body: { errcode: 'M_FORBIDDEN' } });
  });

  it('refuses a room the origin has no member in and whose history is not world_readable', async () => {
    const closed = await alice.createRoom({ preset: 'private_chat' });
    const message = await alice.send(closed, 'secret');
    for (const path of [`/event/${e(message)}`, `/state_ids/${e(closed)}?event_id=${e(message)}`, `/backfill/${e(closed)}?v=${e(message)}&limit=5`]) {
      expect(await get(path), path).toMatchObject({ status: 403, body: { errcode: 'M_FORBIDDEN' } });
    }
    // An unknown room answers the same: its existence is not told.
    expect(await get(`/state_ids/${e('!nowhere:strata.test')}?event_id=${e(message)}`)).toMatchObject({ status: 403 });
    // An event of another room than the path's is not found there.
    expect(await get(`/state_ids/${e(room)}?event_id=${e(message)}`)).toMatchObject({ status: 404, body: { errcode: 'M_NOT_FOUND' } });
    expect(await get(`/event_auth/${e(room)}/${e(message)}`)).toMatchObject({ status: 404, body: { errcode: 'M_NOT_FOUND' } });
  });

  it('serves events the room\'s history visibility hid from the origin redacted, the others whole', async () => {
    const later = await alice.createRoom({
      preset: 'private_chat',
      initial_state: [{ type: 'm.room.history_visibility', state_key: '', content: { history_visibility: 'joined' } }],
    });
    const early = await alice.send(later, 'before anyone could read');
    await alice.put(`/rooms/${e(later)}/state/m.room.history_visibility/`, { history_visibility: 'world_readable' });
    const late = await alice.send(later, 'for everyone');
    const backfilled = await ok(`/backfill/${e(later)}?v=${e(late)}&limit=3`);
    expect(backfilled.pdus.map((pdu: Pdu) => pdu.content)).toEqual([
      { msgtype: 'm.text', body: 'for everyone' }, { history_visibility: 'world_readable' }, {},
    ]);
    // Redacted, the event keeps its id (its hashes), so the asker can still place it in the DAG.
    expect(idOf(backfilled.pdus[2])).toBe(early);
    expect((await ok(`/event/${e(early)}`)).pdus[0].content).toEqual({});
    const missing = await ok(`/get_missing_events/${e(later)}`, { earliest_events: [], latest_events: [late], limit: 2 });
    expect(missing.events.map((pdu: Pdu) => pdu.content)).toEqual([{}, { history_visibility: 'world_readable' }]);
  });

  it('answers bad input with 400s and unsigned requests with 401', async () => {
    const cases: [string, string][] = [
      [`/state_ids/${e(room)}`, 'M_MISSING_PARAM'],
      [`/state/${e(room)}?event_id=`, 'M_INVALID_PARAM'],
      [`/state_ids/${e(room)}?event_id=${'x'.repeat(300)}`, 'M_INVALID_PARAM'],
      [`/backfill/${e(room)}?limit=5`, 'M_MISSING_PARAM'],
      [`/backfill/${e(room)}?v=${e(messages[0]!)}`, 'M_MISSING_PARAM'],
      [`/backfill/${e(room)}?v=${e(messages[0]!)}&limit=-1`, 'M_INVALID_PARAM'],
      [`/backfill/${e(room)}?v=${e(messages[0]!)}&limit=ten`, 'M_INVALID_PARAM'],
      [`/backfill/${e(room)}?${Array.from({ length: 21 }, (_, i) => `v=%24${i}`).join('&')}&limit=5`, 'M_INVALID_PARAM'],
      [`/timestamp_to_event/${e(room)}?dir=f`, 'M_MISSING_PARAM'],
      [`/timestamp_to_event/${e(room)}?ts=soon&dir=f`, 'M_INVALID_PARAM'],
      [`/timestamp_to_event/${e(room)}?ts=0&dir=up`, 'M_INVALID_PARAM'],
      [`/hierarchy/${e(room)}?suggested_only=maybe`, 'M_INVALID_PARAM'],
    ];
    for (const [path, errcode] of cases) expect(await get(path), path).toMatchObject({ status: 400, body: { errcode } });
    const missing = `/_matrix/federation/v1/get_missing_events/${e(room)}`;
    expect(await request('POST', missing, { latest_events: [] })).toMatchObject({ status: 400, body: { errcode: 'M_MISSING_PARAM' } });
    expect(await request('POST', missing, { earliest_events: 'x', latest_events: [] })).toMatchObject({ status: 400, body: { errcode: 'M_BAD_JSON' } });
    expect(await request('POST', missing, { earliest_events: [], latest_events: [1] })).toMatchObject({ status: 400, body: { errcode: 'M_BAD_JSON' } });
    expect(await request('POST', missing, { earliest_events: [], latest_events: Array.from({ length: 101 }, (_, i) => `$${i}`) }))
      .toMatchObject({ status: 400, body: { errcode: 'M_BAD_JSON' } });
    expect(await request('POST', missing, { earliest_events: [], latest_events: [messages[1]!], limit: 'ten' })).toMatchObject({ status: 400, body: { errcode: 'M_BAD_JSON' } });
    const unsigned = await fetch(`${server.url}/_matrix/federation/v1/event/${e(messages[0]!)}`);
    expect(unsigned.status).toBe(401);
  });

  it('/hierarchy answers a space and its children the origin may see; others by id only', async () => {
    const space = await alice.createRoom({ preset: 'public_chat', name: 'Space', creation_content: { type: 'm.space' } });
    const open = await alice.createRoom({ preset: 'public_chat', name: 'Open child' });
    const closed = await alice.createRoom({ preset: 'private_chat', name: 'Closed child' });
    await alice.put(`/rooms/${e(space)}/state/m.space.child/${e(open)}`, { via: [server.serverName], suggested: true });
    await alice.put(`/rooms/${e(space)}/state/m.space.child/${e(closed)}`, { via: [server.serverName] });
    const answer = await ok(`/hierarchy/${e(space)}`);
    expect(answer.room).toMatchObject({ room_id: space, name: 'Space', room_type: 'm.space', join_rule: 'public' });
    expect(answer.room.children_state.map((child: Body) => child.state_key).sort()).toEqual([open, closed].sort());
    expect(answer.children).toEqual([expect.objectContaining({ room_id: open, name: 'Open child', join_rule: 'public' })]);
    expect(answer.inaccessible_children).toEqual([closed]);
    const suggested = await ok(`/hierarchy/${e(space)}?suggested_only=true`);
    expect(suggested.room.children_state.map((child: Body) => child.state_key)).toEqual([open]);
    expect(suggested.inaccessible_children).toEqual([]);
    expect(await get(`/hierarchy/${e(closed)}`)).toMatchObject({ status: 404, body: { errcode: 'M_NOT_FOUND' } });
  });
});
