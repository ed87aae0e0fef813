// Account data, tags, filters, push rules, presence and capabilities over real HTTP on PGlite.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, V3, type Harness, type Session } from './testServer.ts';

describe('per-user data endpoints', () => {
  let h: Harness;
  let alice: Session;
  let bob: Session;
  beforeAll(async () => {
    h = await startHarness();
    alice = await h.register('alice');
    bob = await h.register('bob');
  });
  afterAll(() => h.close());

  it('stores global and room account data for the user only', async () => {
    const url = `${V3}/user/${alice.userId}/account_data/org.example.settings`;
    expect((await h.call('GET', url, undefined, alice.token)).body.errcode).toBe('M_NOT_FOUND');
    expect((await h.call('PUT', url, { theme: 'dark' }, alice.token)).status).toBe(200);
    expect((await h.call('GET', url, undefined, alice.token)).body).toEqual({ theme: 'dark' });
    const other = await h.call('GET', url, undefined, bob.token);
    expect([other.status, other.body.errcode]).toEqual([403, 'M_FORBIDDEN']);
    expect((await h.call('PUT', url, { x: 1 }, bob.token)).status).toBe(403);

    const roomUrl = `${V3}/user/${alice.userId}/rooms/!room:example.org/account_data/org.example.settings`;
    expect((await h.call('GET', roomUrl, undefined, alice.token)).status).toBe(404);
    expect((await h.call('PUT', roomUrl, { room: true }, alice.token)).status).toBe(200);
    expect((await h.call('GET', roomUrl, undefined, alice.token)).body).toEqual({ room: true });
    const badRoom = await h.call('GET', `${V3}/user/${alice.userId}/rooms/not-a-room/account_data/x`, undefined, alice.token);
    expect([badRoom.status, badRoom.body.errcode]).toEqual([400, 'M_INVALID_PARAM']);
  });

  it('refuses server-controlled types and bodies that are not objects', async () => {
    for (const type of ['m.fully_read', 'm.push_rules']) {
      const reply = await h.call('PUT', `${V3}/user/${alice.userId}/account_data/${type}`, { event_id: '$x' }, alice.token);
      expect([reply.status, reply.body.errcode]).toEqual([405, 'M_BAD_JSON']);
    }
    const room = await h.call('PUT', `${V3}/user/${alice.userId}/rooms/!r:example.org/account_data/m.fully_read`, {}, alice.token);
    expect([room.status, room.body.errcode]).toEqual([405, 'M_BAD_JSON']);
    const notObject = await h.call('PUT', `${V3}/user/${alice.userId}/account_data/org.example.x`, '[1]', alice.token);
    expect([notObject.status, notObject.body.errcode]).toEqual([400, 'M_NOT_JSON']);
  });

  it('tags rooms through m.tag account data', async () => {
    const tags = `${V3}/user/${alice.userId}/rooms/!tagged:example.org/tags`;
    expect((await h.call('GET', tags, undefined, alice.token)).body).toEqual({ tags: {} });
    expect((await h.call('PUT', `${tags}/m.favourite`, { order: 0.5 }, alice.token)).status).toBe(200);
    expect((await h.call('PUT', `${tags}/u.work`, {}, alice.token)).status).toBe(200);
    expect((await h.call('GET', tags, undefined, alice.token)).body).toEqual({ tags: { 'm.favourite': { order: 0.5 }, 'u.work': {} } });
    expect((await h.call('PUT', `${tags}/u.bad`, { order: 2 }, alice.token)).body.errcode).toBe('M_BAD_JSON');
    expect((await h.call('DELETE', `${tags}/m.favourite`, undefined, alice.token)).status).toBe(200);
    expect((await h.call('DELETE', `${tags}/m.absent`, undefined, alice.token)).status).toBe(200);
    expect((await h.call('GET', `${V3}/user/${alice.userId}/rooms/!tagged:example.org/account_data/m.tag`, undefined, alice.token)).body)
      .toEqual({ tags: { 'u.work': {} } });
    expect((await h.call('GET', tags, undefined, bob.token)).status).toBe(403);
  });

  it('creates, validates and returns filters', async () => {
    const filter = { room: { timeline: { limit: 10, types: ['m.room.message'] }, state: { lazy_load_members: true } }, event_format: 'client' };
    const created = await h.call('POST', `${V3}/user/${alice.userId}/filter`, filter, alice.token);
    expect(created.status).toBe(200);
    expect(created.body.filter_id).toEqual(expect.any(String));
    expect((await h.call('GET', `${V3}/user/${alice.userId}/filter/${created.body.filter_id as string}`, undefined, alice.token)).body).toEqual(filter);
    expect((await h.call('GET', `${V3}/user/${alice.userId}/filter/999999`, undefined, alice.token)).body.errcode).toBe('M_NOT_FOUND');
    expect((await h.call('GET', `${V3}/user/${alice.userId}/filter/${created.body.filter_id as string}`, undefined, bob.token)).status).toBe(403);
    for (const bad of [{ room: { timeline: { limit: 'ten' } } }, { event_format: 'xml' }, { presence: { types: 'm.presence' } }, { room: [] }]) {
      const reply = await h.call('POST', `${V3}/user/${alice.userId}/filter`, bad, alice.token);
      expect([reply.status, reply.body.errcode]).toEqual([400, 'M_BAD_JSON']);
    }
    const resolved = await h.userData.resolveFilter(alice.userId, created.body.filter_id as string);
    expect(resolved.room.timeline).toMatchObject({ limit: 10, types: ['m.room.message'] });
    expect(resolved.room.state.lazyLoadMembers).toBe(true);
  });

  it('serves the default push rules in the spec’s order', async () => {
    const reply = await h.call('GET', `${V3}/pushrules/`, undefined, alice.token);
    expect(reply.status).toBe(200);
    const global = reply.body.global as Record<string, { rule_id: string; enabled: boolean; conditions?: unknown[] }[]>;
    expect(global.override!.map((r) => r.rule_id)).toEqual([
      '.m.rule.master', '.m.rule.suppress_notices', '.m.rule.invite_for_me', '.m.rule.member_event', '.m.rule.is_user_mention',
      '.m.rule.is_room_mention', '.m.rule.tombstone', '.m.rule.reaction', '.m.rule.room.server_acl', '.m.rule.suppress_edits',
    ]);
    expect(global.underride!.map((r) => r.rule_id)).toEqual([
      '.m.rule.call', '.m.rule.encrypted_room_one_to_one', '.m.rule.room_one_to_one', '.m.rule.message', '.m.rule.encrypted',
    ]);
    expect(global.content).toEqual([]);
    expect(global.override![0]!.enabled).toBe(false);
    expect(global.override![2]!.conditions).toContainEqual({ kind: 'event_match', key: 'state_key', pattern: alice.userId });
    expect((await h.call('GET', `${V3}/pushrules/global/`, undefined, alice.token)).body).toEqual(global);
  });

  it('adds, orders, changes and deletes push rules', async () => {
    const rule = (kind: string, id: string, suffix = '') => `${V3}/pushrules/global/${kind}/${encodeURIComponent(id)}${suffix}`;
    const put = (url: string, body: unknown) => h.call('PUT', url, body, alice.token);
    expect((await put(rule('content', 'cake'), { pattern: 'cake*lie', actions: ['notify'] })).status).toBe(200);
    expect((await put(rule('override', 'a'), { conditions: [{ kind: 'event_match', key: 'type', pattern: 'x' }], actions: [] })).status).toBe(200);
    expect((await put(`${rule('override', 'b')}?after=a`, { actions: ['notify'] })).status).toBe(200);
    expect((await put(`${rule('override', 'c')}?before=a`, { actions: ['notify'] })).status).toBe(200);
    expect((await put(rule('room', '!r:example.org'), { actions: [] })).status).toBe(200);
    const overrides = ((await h.call('GET', `${V3}/pushrules/`, undefined, alice.token)).body.global as Record<string, { rule_id: string }[]>).override!;
    expect(overrides.slice(0, 5).map((r) => r.rule_id)).toEqual(['.m.rule.master', 'c', 'a', 'b', '.m.rule.suppress_notices']);
    expect((await h.call('GET', rule('content', 'cake'), undefined, alice.token)).body)
      .toEqual({ rule_id: 'cake', default: false, enabled: true, pattern: 'cake*lie', actions: ['notify'] });
    expect((await h.call('GET', rule('room', '!r:example.org'), undefined, alice.token)).body).toMatchObject({ rule_id: '!r:example.org' });

    expect((await put(rule('override', '.m.rule.master', '/enabled'), { enabled: true })).status).toBe(200);
    expect((await h.call('GET', rule('override', '.m.rule.master', '/enabled'), undefined, alice.token)).body).toEqual({ enabled: true });
    expect((await put(rule('underride', '.m.rule.message', '/actions'), { actions: ['dont_notify'] })).status).toBe(200);
    expect((await h.call('GET', rule('underride', '.m.rule.message', '/actions'), undefined, alice.token)).body).toEqual({ actions: ['dont_notify'] });
    // Bob's rules are his own.
    expect((await h.call('GET', rule('override', '.m.rule.master', '/enabled'), undefined, bob.token)).body).toEqual({ enabled: false });
    expect((await h.call('GET', rule('content', 'cake'), undefined, bob.token)).status).toBe(404);

    expect((await h.call('DELETE', rule('content', 'cake'), undefined, alice.token)).status).toBe(200);
    const errors: [string, string, unknown, number, string][] = [
      ['GET', rule('content', 'cake'), undefined, 404, 'M_NOT_FOUND'],
      ['DELETE', rule('override', 'nope'), undefined, 404, 'M_NOT_FOUND'],
      ['PUT', rule('override', 'nope', '/enabled'), { enabled: true }, 404, 'M_NOT_FOUND'],
      ['PUT', rule('override', '.mine'), { actions: [] }, 400, 'M_INVALID_PARAM'],
      ['PUT', `${rule('override', 'd')}?before=missing`, { actions: [] }, 400, 'M_UNKNOWN'],
      ['PUT', `${rule('override', 'd')}?after=.m.rule.master`, { actions: [] }, 400, 'M_UNKNOWN'],
      ['PUT', rule('override', 'd'), {}, 400, 'M_MISSING_PARAM'],
      ['PUT', rule('content', 'd'), { actions: [] }, 400, 'M_MISSING_PARAM'],
      ['GET', rule('sideways', 'd'), undefined, 400, 'M_INVALID_PARAM'],
      ['DELETE', rule('override', '.m.rule.master'), undefined, 400, 'M_INVALID_PARAM'],
    ];
    for (const [method, url, body, status, errcode] of errors) {
      const reply = await h.call(method, url, body, alice.token);
      expect({ method, url, status: reply.status, errcode: reply.body.errcode }).toEqual({ method, url, status, errcode });
    }
  });

  it('delivers push rules and account data on the account data stream', async () => {
    const stream = h.userData.streams.accountData;
    const upTo = await stream.currentPosition();
    const all = await stream.changesSince(alice.userId, 0, upTo);
    const pushRules = all.find((entry) => entry.type === 'm.push_rules');
    expect((pushRules?.content.global as Record<string, { rule_id: string }[]>).override![0]!.rule_id).toBe('.m.rule.master');
    expect(all.some((entry) => entry.type === 'org.example.settings' && entry.roomId === null)).toBe(true);
    // Bob never changed his rules: from 0 he still gets the defaults.
    const bobs = await stream.changesSince(bob.userId, 0, upTo);
    expect(bobs.map((entry) => entry.type)).toEqual(['m.push_rules']);
    expect(await stream.changesSince(alice.userId, upTo, upTo)).toEqual([]);
  });

  it('sets and reads presence, visible to users sharing a room', async () => {
    const url = `${V3}/presence/${alice.userId}/status`;
    expect((await h.call('GET', url, undefined, alice.token)).status).toBe(404);
    expect((await h.call('PUT', url, { presence: 'online', status_msg: 'Hello' }, alice.token)).status).toBe(200);
    const own = await h.call('GET', url, undefined, alice.token);
    expect(own.body).toMatchObject({ presence: 'online', status_msg: 'Hello', currently_active: true });
    expect(own.body.last_active_ago).toEqual(expect.any(Number));
    expect((await h.call('GET', url, undefined, bob.token)).status).toBe(403);
    h.membership.join('!shared:example.org', alice.userId);
    h.membership.join('!shared:example.org', bob.userId);
    expect((await h.call('GET', url, undefined, bob.token)).body).toMatchObject({ presence: 'online' });
    expect((await h.call('PUT', url, { presence: 'away' }, alice.token)).body.errcode).toBe('M_INVALID_PARAM');
    expect((await h.call('PUT', url, { presence: 'online' }, bob.token)).status).toBe(403);
    const events = await h.userData.streams.presence.changesSince(bob.userId, 0, await h.userData.streams.presence.currentPosition());
    expect(events).toContainEqual(expect.objectContaining({ type: 'm.presence', sender: alice.userId }));
  });

  it('advertises capabilities', async () => {
    const reply = await h.call('GET', `${V3}/capabilities`, undefined, alice.token);
    expect(reply.body.capabilities).toMatchObject({
      'm.change_password': { enabled: true },
      'm.room_versions': { default: '12', available: Object.fromEntries(Array.from({ length: 12 }, (_, i) => [String(i + 1), 'stable'])) },
      'm.set_displayname': { enabled: true },
      'm.set_avatar_url': { enabled: true },
      'm.3pid_changes': { enabled: false },
    });
    expect((await h.call('GET', `${V3}/capabilities`)).status).toBe(401);
  });
});
