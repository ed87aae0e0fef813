// Account data, tags, filters, push rules, presence and capabilities over HTTP against the whole
// server (infra/strata.ts, embedded), read back through the endpoints and /sync as a client does.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MatrixClient, e, startTestServer, type Body, type TestServer, type UserClient } from '../../../test/harness/index.ts';

describe('per-user data endpoints', () => {
  let server: TestServer;
  let client: MatrixClient;
  let alice: UserClient;
  let bob: UserClient;
  beforeAll(async () => {
    server = await startTestServer({ mode: 'embedded' });
    client = new MatrixClient(server.url);
    [alice, bob] = await Promise.all(['alice', 'bob'].map(async (name) => client.as(await client.register(name))));
  });
  afterAll(() => server?.stop());

  const ROOM = '!room:strata.test';

  it('stores global and room account data for the user only', async () => {
    const path = `/user/${e(alice.userId)}/account_data/org.example.settings`;
    await alice.fails('GET', path, { status: 404, errcode: 'M_NOT_FOUND' });
    await alice.put(path, { theme: 'dark' });
    expect(await alice.get(path)).toEqual({ theme: 'dark' });
    await bob.fails('GET', path, { status: 403, errcode: 'M_FORBIDDEN' });
    await bob.fails('PUT', path, { status: 403, errcode: 'M_FORBIDDEN' }, { json: { x: 1 } });

    const roomPath = `/user/${e(alice.userId)}/rooms/${e(ROOM)}/account_data/org.example.settings`;
    await alice.fails('GET', roomPath, { status: 404, errcode: 'M_NOT_FOUND' });
    await alice.put(roomPath, { room: true });
    expect(await alice.get(roomPath)).toEqual({ room: true });
    await alice.fails('GET', `/user/${e(alice.userId)}/rooms/not-a-room/account_data/x`, { status: 400, errcode: 'M_INVALID_PARAM' });
  });

  it('refuses server-controlled types and bodies that are not objects', async () => {
    for (const type of ['m.fully_read', 'm.push_rules']) {
      await alice.fails('PUT', `/user/${e(alice.userId)}/account_data/${type}`, { status: 405, errcode: 'M_BAD_JSON' }, { json: { event_id: '$x' } });
    }
    await alice.fails('PUT', `/user/${e(alice.userId)}/rooms/${e(ROOM)}/account_data/m.fully_read`, { status: 405, errcode: 'M_BAD_JSON' }, { json: {} });
    await alice.fails('PUT', `/user/${e(alice.userId)}/account_data/org.example.x`, { status: 400, errcode: 'M_BAD_JSON' }, { raw: '[1]' });
  });

  it('tags rooms through m.tag account data', async () => {
    const tags = `/user/${e(alice.userId)}/rooms/${e('!tagged:strata.test')}/tags`;
    expect(await alice.get(tags)).toEqual({ tags: {} });
    await alice.put(`${tags}/m.favourite`, { order: 0.5 });
    await alice.put(`${tags}/u.work`, {});
    expect(await alice.get(tags)).toEqual({ tags: { 'm.favourite': { order: 0.5 }, 'u.work': {} } });
    await alice.fails('PUT', `${tags}/u.bad`, { status: 400, errcode: 'M_BAD_JSON' }, { json: { order: 2 } });
    await alice.delete(`${tags}/m.favourite`);
    await alice.delete(`${tags}/m.absent`);
    expect(await alice.get(`/user/${e(alice.userId)}/rooms/${e('!tagged:strata.test')}/account_data/m.tag`)).toEqual({ tags: { 'u.work': {} } });
    await bob.fails('GET', tags, { status: 403, errcode: 'M_FORBIDDEN' });
  });

  it('creates, validates and returns filters', async () => {
    const filter = { room: { timeline: { limit: 10, types: ['m.room.message'] }, state: { lazy_load_members: true } }, event_format: 'client' };
    const { filter_id: filterId } = await alice.post(`/user/${e(alice.userId)}/filter`, filter);
    expect(filterId).toEqual(expect.any(String));
    expect(await alice.get(`/user/${e(alice.userId)}/filter/${e(filterId as string)}`)).toEqual(filter);
    await alice.fails('GET', `/user/${e(alice.userId)}/filter/999999`, { status: 404, errcode: 'M_NOT_FOUND' });
    await bob.fails('GET', `/user/${e(alice.userId)}/filter/${e(filterId as string)}`, { status: 403, errcode: 'M_FORBIDDEN' });
    for (const bad of [{ room: { timeline: { limit: 'ten' } } }, { event_format: 'xml' }, { presence: { types: 'm.presence' } }, { room: [] }]) {
      await alice.fails('POST', `/user/${e(alice.userId)}/filter`, { status: 400, errcode: 'M_BAD_JSON' }, { json: bad });
    }
    // /sync resolves the stored id.
    expect(await alice.sync({ filter: filterId as string })).toHaveProperty('next_batch');
  });

  it('serves the default push rules in the spec’s order', async () => {
    const { global } = await alice.get('/pushrules/');
    expect((global.override as Body[]).map((r) => r.rule_id)).toEqual([
      '.m.rule.master', '.m.rule.suppress_notices', '.m.rule.invite_for_me', '.m.rule.member_event', '.m.rule.is_user_mention',
      '.m.rule.is_room_mention', '.m.rule.tombstone', '.m.rule.reaction', '.m.rule.room.server_acl', '.m.rule.suppress_edits',
    ]);
    expect((global.underride as Body[]).map((r) => r.rule_id)).toEqual([
      '.m.rule.call', '.m.rule.encrypted_room_one_to_one', '.m.rule.room_one_to_one', '.m.rule.message', '.m.rule.encrypted',
    ]);
    expect(global.content).toEqual([]);
    expect(global.override[0].enabled).toBe(false);
    expect(global.override[2].conditions).toContainEqual({ kind: 'event_match', key: 'state_key', pattern: alice.userId });
    expect(await alice.get('/pushrules/global/')).toEqual(global);
  });

  it('adds, orders, changes and deletes push rules', async () => {
    const rule = (kind: string, id: string, suffix = '') => `/pushrules/global/${kind}/${e(id)}${suffix}`;
    await alice.put(rule('content', 'cake'), { pattern: 'cake*lie', actions: ['notify'] });
    await alice.put(rule('override', 'a'), { conditions: [{ kind: 'event_match', key: 'type', pattern: 'x' }], actions: [] });
    await alice.put(`${rule('override', 'b')}?after=a`, { actions: ['notify'] });
    await alice.put(`${rule('override', 'c')}?before=a`, { actions: ['notify'] });
    await alice.put(rule('room', '!r:strata.test'), { actions: [] });
    const overrides = (await alice.get('/pushrules/')).global.override as Body[];
    expect(overrides.slice(0, 5).map((r) => r.rule_id)).toEqual(['.m.rule.master', 'c', 'a', 'b', '.m.rule.suppress_notices']);
    expect(await alice.get(rule('content', 'cake'))).toEqual({ rule_id: 'cake', default: false, enabled: true, pattern: 'cake*lie', actions: ['notify'] });
    expect(await alice.get(rule('room', '!r:strata.test'))).toMatchObject({ rule_id: '!r:strata.test' });

    await alice.put(rule('override', '.m.rule.master', '/enabled'), { enabled: true });
    expect(await alice.get(rule('override', '.m.rule.master', '/enabled'))).toEqual({ enabled: true });
    await alice.put(rule('underride', '.m.rule.message', '/actions'), { actions: ['dont_notify'] });
    expect(await alice.get(rule('underride', '.m.rule.message', '/actions'))).toEqual({ actions: ['dont_notify'] });
    // Bob's rules are his own.
    expect(await bob.get(rule('override', '.m.rule.master', '/enabled'))).toEqual({ enabled: false });
    await bob.fails('GET', rule('content', 'cake'), { status: 404, errcode: 'M_NOT_FOUND' });

    await alice.delete(rule('content', 'cake'));
    const errors: [string, string, unknown, number, string][] = [
      ['GET', rule('content', 'cake'), undefined, 404, 'M_NOT_FOUND'],
      ['DELETE', rule('override', 'nope'), undefined, 404, 'M_NOT_FOUND'],
      ['PUT', rule('override', 'nope', '/enabled'), { enabled: true }, 404, 'M_NOT_FOUND'],
      ['PUT', rule('override', '.mine'), { actions: [] }, 400, 'M_INVALID_PARAM'],
      ['PUT', `${rule('override', 'd')}?before=missing`, { actions: [] }, 400, 'M_UNKNOWN'],
      ['PUT', `${rule('override', 'd')}?after=.m.rule.master`, { actions: [] }, 400, 'M_UNKNOWN'],
      ['PUT', rule('override', 'd'), {}, 400, 'M_MISSING_PARAM'],
      ['PUT', rule('content', 'd'), { actions: [] }, 400, 'M_MISSING_PARAM'],
      ['GET', rule('sideways', 'd'), undefined, 404, 'M_UNRECOGNIZED'],
      ['DELETE', rule('override', '.m.rule.master'), undefined, 404, 'M_NOT_FOUND'],
    ];
    for (const [method, path, json, status, errcode] of errors) {
      await alice.fails(method, path, { status, errcode }, json === undefined ? {} : { json });
    }
  });

  it('delivers push rules and account data in /sync', async () => {
    const types = (sync: Body): string[] => ((sync.account_data?.events ?? []) as Body[]).map((event) => event.type as string);
    const initial = await alice.sync();
    const pushRules = (initial.account_data.events as Body[]).find((event) => event.type === 'm.push_rules');
    expect(pushRules?.content.global.override[0].rule_id).toBe('.m.rule.master');
    expect(types(initial)).toContain('org.example.settings');
    // Bob never changed his rules: his first sync still carries the defaults.
    expect(types(await bob.sync())).toEqual(['m.push_rules']);
    expect(types(await alice.sync({ since: initial.next_batch as string, timeout: 0 }))).toEqual([]);
  });

  it('sets and reads presence, visible to users sharing a room', async () => {
    // A user who never synced nor set presence is offline (/sync sets it, so alice has some by now).
    const carol = client.as(await client.register('carol'));
    expect(await carol.get(`/presence/${e(carol.userId)}/status`)).toMatchObject({ presence: 'offline' });
    const path = `/presence/${e(alice.userId)}/status`;
    await alice.put(path, { presence: 'online', status_msg: 'Hello' });
    const own = await alice.get(path);
    expect(own).toMatchObject({ presence: 'online', status_msg: 'Hello', currently_active: true, last_active_ago: expect.any(Number) });
    await bob.fails('GET', path, { status: 403, errcode: 'M_FORBIDDEN' });
    const shared = await alice.createRoom({ preset: 'public_chat' });
    await bob.post(`/join/${e(shared)}`);
    expect(await bob.get(path)).toMatchObject({ presence: 'online' });
    await alice.fails('PUT', path, { status: 400, errcode: 'M_INVALID_PARAM' }, { json: { presence: 'away' } });
    await bob.fails('PUT', path, { status: 403, errcode: 'M_FORBIDDEN' }, { json: { presence: 'online' } });
    await bob.syncUntil((sync) => ((sync.presence?.events ?? []) as Body[]).some((event) => event.type === 'm.presence' && event.sender === alice.userId));
  });

  it('advertises capabilities', async () => {
    expect((await alice.get('/capabilities')).capabilities).toMatchObject({
      'm.change_password': { enabled: true },
      'm.room_versions': { default: '12', available: Object.fromEntries(Array.from({ length: 12 }, (_, i) => [String(i + 1), 'stable'])) },
      'm.set_displayname': { enabled: true },
      'm.set_avatar_url': { enabled: true },
      'm.3pid_changes': { enabled: false },
    });
    await client.fails('GET', '/capabilities', { status: 401, errcode: 'M_MISSING_TOKEN' });
  });
});
