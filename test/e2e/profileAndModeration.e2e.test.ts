// Profiles with custom fields (v1.16), capabilities, and account moderation — locking (v1.12) and
// suspension (v1.13) through the v1.18 admin endpoints — over HTTP against the whole server
// (infra/strata.ts). Expectations come from profile.yaml, capabilities.yaml, admin.yaml and
// client-server-api § Account moderation.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MatrixClient, PASSWORD, e, startTestServer, type Body, type ServerMode, type TestServer, type UserClient } from '../harness/index.ts';

// Both deployments: the flags live in PGlite in one and PostgreSQL in the other.
describe.each<ServerMode>(['embedded', 'distributed'])('profiles, capabilities and account moderation (%s)', (mode) => {
  let server: TestServer;
  let client: MatrixClient;
  let admin: UserClient;
  let alice: UserClient;
  let bob: UserClient;
  let carol: UserClient;
  const profile = (userId: string, key?: string): string => `/profile/${e(userId)}${key === undefined ? '' : `/${e(key)}`}`;
  const lock = (userId: string): string => `/_matrix/client/v1/admin/lock/${e(userId)}`;
  const suspend = (userId: string): string => `/_matrix/client/v1/admin/suspend/${e(userId)}`;
  const room = (roomId: string, rest: string): string => `/rooms/${e(roomId)}${rest}`;
  const txn = (): string => `t${Math.random().toString(36).slice(2)}`;

  beforeAll(async () => {
    server = await startTestServer({ mode });
    client = new MatrixClient(server.url);
    admin = client.as(await client.registerWithSharedSecret(server.registrationSharedSecret, 'root', { admin: true }));
    [alice, bob, carol] = await Promise.all(['alice', 'bob', 'carol'].map(async (name) => client.as(await client.register(name))));
  });
  afterAll(() => server?.stop());

  describe('profile fields (profile.yaml, since v1.16)', () => {
    it('sets, reads and deletes any namespaced field, and GET /profile answers every field', async () => {
      await alice.put(profile(alice.userId, 'm.tz'), { 'm.tz': 'Europe/London' });
      await alice.put(profile(alice.userId, 'org.example.job'), { 'org.example.job': { title: 'Engineer', level: 3, tags: ['a'] } });
      // "Servers that accept null values SHOULD store them rather than treating null as a deletion."
      await alice.put(profile(alice.userId, 'org.example.nothing'), { 'org.example.nothing': null });
      expect(await client.ok('GET', profile(alice.userId))).toEqual({
        displayname: 'alice', 'm.tz': 'Europe/London', 'org.example.job': { title: 'Engineer', level: 3, tags: ['a'] }, 'org.example.nothing': null,
      });
      expect(await client.ok('GET', profile(alice.userId, 'm.tz'))).toEqual({ 'm.tz': 'Europe/London' });
      expect(await alice.delete(profile(alice.userId, 'org.example.job'))).toEqual({});
      await client.fails('GET', profile(alice.userId, 'org.example.job'), { status: 404, errcode: 'M_NOT_FOUND' });
      expect(await client.ok('GET', profile(alice.userId))).not.toHaveProperty('org.example.job');
      await client.fails('GET', profile(`@nobody:${server.serverName}`), { status: 404, errcode: 'M_NOT_FOUND' });
    });

    it("refuses another user's profile, bad keys and oversized profiles with the spec's errors", async () => {
      await bob.fails('PUT', profile(alice.userId, 'displayname'), { status: 403, errcode: 'M_FORBIDDEN' }, { json: { displayname: 'x' } });
      await bob.fails('DELETE', profile(alice.userId, 'm.tz'), { status: 403, errcode: 'M_FORBIDDEN' });
      for (const key of ['Org.example.upper', 'nodots', 'org..double', 'm.tz.']) {
        await alice.fails('PUT', profile(alice.userId, key), { status: 400, errcode: 'M_INVALID_PARAM' }, { json: { [key]: 1 } });
        await alice.fails('DELETE', profile(alice.userId, key), { status: 400, errcode: 'M_INVALID_PARAM' });
      }
      const longKey = `org.${'k'.repeat(252)}`;
      await alice.fails('PUT', profile(alice.userId, longKey), { status: 400, errcode: 'M_KEY_TOO_LARGE' }, { json: { [longKey]: 1 } });
      await alice.fails('PUT', profile(alice.userId, 'org.example.a'), { status: 400, errcode: 'M_MISSING_PARAM' }, { json: { 'org.example.b': 1 } });
      await alice.fails('PUT', profile(alice.userId, 'org.example.big'), { status: 400, errcode: 'M_PROFILE_TOO_LARGE' },
        { json: { 'org.example.big': 'x'.repeat(64 * 1024) } });
      await alice.fails('PUT', profile(alice.userId, 'displayname'), { status: 400, errcode: 'M_INVALID_PARAM' }, { json: { displayname: 7 } });
      // profile.yaml names M_BAD_JSON; the common error codes name M_NOT_JSON for a body that is not JSON.
      const notJson = await alice.request('PUT', profile(alice.userId, 'displayname'), { raw: '{"displayname":' });
      expect([notJson.status, ['M_BAD_JSON', 'M_NOT_JSON'].includes(notJson.body.errcode as string)]).toEqual([400, true]);
      await client.fails('PUT', profile(alice.userId, 'm.tz'), { status: 401, errcode: 'M_MISSING_TOKEN' }, { json: { 'm.tz': 'UTC' } });
      expect((await client.ok('GET', profile(alice.userId)))['org.example.big']).toBeUndefined();
    });

    it('propagates displayname and avatar_url into member events, but not custom fields', async () => {
      const roomId = await alice.createRoom({ preset: 'private_chat' });
      await alice.put(profile(alice.userId, 'displayname'), { displayname: 'Alice A.' });
      await alice.put(profile(alice.userId, 'avatar_url'), { avatar_url: 'mxc://strata.test/alice' });
      expect(await alice.get(room(roomId, `/state/m.room.member/${e(alice.userId)}`)))
        .toEqual({ membership: 'join', displayname: 'Alice A.', avatar_url: 'mxc://strata.test/alice' });
      const before = ((await alice.get(room(roomId, '/messages'), { dir: 'b', limit: 50 })).chunk as Body[]).length;
      await alice.put(profile(alice.userId, 'org.example.colour'), { 'org.example.colour': 'green' });
      expect(((await alice.get(room(roomId, '/messages'), { dir: 'b', limit: 50 })).chunk as Body[]).length).toBe(before);
    });
  });

  describe('capabilities (capabilities.yaml)', () => {
    it("answers every capability the spec defines for what the server does", async () => {
      const { capabilities } = await alice.get('/capabilities');
      expect(capabilities).toEqual({
        'm.change_password': { enabled: true },
        'm.room_versions': {
          default: '12',
          available: Object.fromEntries(Array.from({ length: 12 }, (_, i) => [String(i + 1), 'stable'])),
        },
        'm.set_displayname': { enabled: true },
        'm.set_avatar_url': { enabled: true },
        'm.3pid_changes': { enabled: false },
        'm.get_login_token': { enabled: false },
        'm.profile_fields': { enabled: true },
        'm.forget_forced_upon_leave': { enabled: false },
      });
    });

    it('offers m.account_moderation to server administrators only', async () => {
      expect((await admin.get('/capabilities')).capabilities['m.account_moderation']).toEqual({ suspend: true, lock: true });
      expect((await bob.get('/capabilities')).capabilities).not.toHaveProperty('m.account_moderation');
    });
  });

  describe('admin endpoints (admin.yaml, since v1.18)', () => {
    it('answers the status of a local account to an administrator', async () => {
      expect(await admin.get(lock(bob.userId))).toEqual({ locked: false });
      expect(await admin.get(suspend(bob.userId))).toEqual({ suspended: false });
      expect(await admin.get(lock(admin.userId))).toEqual({ locked: false });
    });

    it('checks authorisation before any lookup, then the server, the account and the target', async () => {
      for (const path of [lock, suspend]) {
        // A non-admin learns nothing, whether the account exists or not.
        await alice.fails('GET', path(bob.userId), { status: 403, errcode: 'M_FORBIDDEN' });
        await alice.fails('GET', path(`@nobody:${server.serverName}`), { status: 403, errcode: 'M_FORBIDDEN' });
        await alice.fails('PUT', path(bob.userId), { status: 403, errcode: 'M_FORBIDDEN' }, { json: { locked: true, suspended: true } });
        await client.fails('GET', path(bob.userId), { status: 401, errcode: 'M_MISSING_TOKEN' });
        await admin.fails('GET', path(`@nobody:${server.serverName}`), { status: 404, errcode: 'M_NOT_FOUND' });
        await admin.fails('PUT', path(`@nobody:${server.serverName}`), { status: 404, errcode: 'M_NOT_FOUND' }, { json: { locked: true, suspended: true } });
        await admin.fails('GET', path('@someone:elsewhere.test'), { status: 400, errcode: 'M_INVALID_PARAM' });
        await admin.fails('PUT', path('@someone:elsewhere.test'), { status: 400, errcode: 'M_INVALID_PARAM' }, { json: { locked: true, suspended: true } });
        // "is trying to lock/suspend their own account"
        await admin.fails('PUT', path(admin.userId), { status: 403, errcode: 'M_FORBIDDEN' }, { json: { locked: true, suspended: true } });
      }
      const other = client.as(await client.registerWithSharedSecret(server.registrationSharedSecret, 'root2', { admin: true }));
      await admin.fails('GET', lock(other.userId), { status: 403, errcode: 'M_FORBIDDEN' });
      await admin.fails('PUT', suspend(other.userId), { status: 403, errcode: 'M_FORBIDDEN' }, { json: { suspended: true } });
      await admin.fails('PUT', lock(bob.userId), { status: 400, errcode: 'M_MISSING_PARAM' }, { json: {} });
      await admin.fails('PUT', suspend(bob.userId), { status: 400, errcode: 'M_INVALID_PARAM' }, { json: { suspended: 'yes' } });
      expect(await admin.get(suspend(bob.userId))).toEqual({ suspended: false });
    });
  });

  describe('account locking (§ Account locking, since v1.12)', () => {
    it('answers 401 M_USER_LOCKED with soft_logout on every API but logout, keeping the tokens', async () => {
      const dave = client.as(await client.register('dave'));
      // A cached token must not keep serving the account once it is locked.
      await dave.get('/account/whoami');
      expect(await admin.put(lock(dave.userId), { locked: true })).toEqual({ locked: true });
      expect(await admin.get(lock(dave.userId))).toEqual({ locked: true });
      for (const [method, path] of [['GET', '/account/whoami'], ['GET', '/sync'], ['GET', '/capabilities'], ['POST', '/createRoom']] as const) {
        const error = await dave.fails(method, path, { status: 401, errcode: 'M_USER_LOCKED' }, method === 'POST' ? { json: {} } : {});
        expect(error.soft_logout).toBe(true);
      }
      // No new access token while locked (§ Soft logout, since v1.12).
      const login = await client.fails('POST', '/login', { status: 401, errcode: 'M_USER_LOCKED' }, {
        json: { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'dave' }, password: PASSWORD },
      });
      expect(login.soft_logout).toBe(true);
      // Unlocking gives the same session back.
      expect(await admin.put(lock(dave.userId), { locked: false })).toEqual({ locked: false });
      expect(await dave.get('/account/whoami')).toMatchObject({ user_id: dave.userId });
    });

    it('lets a locked account log out', async () => {
      const erin = await client.register('erin');
      const second = await client.login(erin.userId, { deviceId: 'SECOND' });
      await admin.put(lock(erin.userId), { locked: true });
      expect(await client.as(second).post('/logout')).toEqual({});
      expect(await client.as(erin).post('/logout/all')).toEqual({});
      await admin.put(lock(erin.userId), { locked: false });
      await client.as(erin).fails('GET', '/account/whoami', { status: 401, errcode: 'M_UNKNOWN_TOKEN' });
      await client.as(second).fails('GET', '/account/whoami', { status: 401, errcode: 'M_UNKNOWN_TOKEN' });
    });
  });

  describe('account suspension (§ Account suspension, since v1.13)', () => {
    it('refuses writes with 403 M_USER_SUSPENDED while reads, leaving and own redactions keep working', async () => {
      // bob may redact others' events here, so only his suspension stops him.
      const hall = await alice.createRoom({
        preset: 'private_chat', invite: [bob.userId], power_level_content_override: { users: { [bob.userId]: 50 } },
      });
      await bob.post(room(hall, '/join'));
      const own = await bob.send(hall, 'before');
      const alicesMessage = await alice.send(hall, 'from alice');
      const pending = await alice.createRoom({ preset: 'private_chat', invite: [bob.userId] });
      const open = await alice.createRoom({ preset: 'public_chat' });
      await bob.put(profile(bob.userId, 'org.example.status'), { 'org.example.status': 'here' });

      expect(await admin.put(suspend(bob.userId), { suspended: true })).toEqual({ suspended: true });
      expect(await admin.get(suspend(bob.userId))).toEqual({ suspended: true });
      const suspended = { status: 403, errcode: 'M_USER_SUSPENDED' };
      await bob.fails('PUT', room(hall, `/send/m.room.message/${txn()}`), suspended, { json: { msgtype: 'm.text', body: 'during' } });
      await bob.fails('PUT', room(hall, '/state/org.example.setting/'), suspended, { json: { value: 1 } });
      await bob.fails('POST', '/createRoom', suspended, { json: {} });
      await bob.fails('POST', room(open, '/join'), suspended, { json: {} });
      await bob.fails('POST', `/join/${e(open)}`, suspended, { json: {} });
      await bob.fails('POST', room(pending, '/join'), suspended, { json: {} });
      await bob.fails('POST', room(hall, '/invite'), suspended, { json: { user_id: carol.userId } });
      await bob.fails('PUT', room(hall, `/redact/${e(alicesMessage)}/${txn()}`), suspended, { json: {} });
      await bob.fails('PUT', profile(bob.userId, 'displayname'), suspended, { json: { displayname: 'Robert' } });
      await bob.fails('DELETE', profile(bob.userId, 'org.example.status'), suspended);

      // Reads keep working: /sync, /messages, profiles, whoami.
      const messages = ((await bob.get(room(hall, '/messages'), { dir: 'b', limit: 20 })).chunk as Body[]);
      expect(messages.some((event) => event.event_id === alicesMessage)).toBe(true);
      expect((await bob.sync()).rooms.join).toHaveProperty(hall);
      expect(await client.ok('GET', profile(bob.userId))).toMatchObject({ displayname: 'bob', 'org.example.status': 'here' });
      expect(await bob.get('/account/whoami')).toMatchObject({ user_id: bob.userId });
      // Allowed: redacting one's own events, rejecting an invite, leaving a room.
      expect(await bob.put(room(hall, `/redact/${e(own)}/${txn()}`), {})).toHaveProperty('event_id');
      expect(await bob.post(room(pending, '/leave'))).toEqual({});
      // A new session is suspended too.
      const laptop = client.as(await client.login(bob.userId, { deviceId: 'LAPTOP' }));
      await laptop.fails('PUT', room(hall, `/send/m.room.message/${txn()}`), suspended, { json: { msgtype: 'm.text', body: 'laptop' } });
      expect(await bob.post(room(hall, '/leave'))).toEqual({});

      expect(await admin.put(suspend(bob.userId), { suspended: false })).toEqual({ suspended: false });
      await bob.post(room(open, '/join'));
      expect(await bob.send(open, 'back')).toMatch(/^\$/);
      await bob.put(profile(bob.userId, 'displayname'), { displayname: 'Robert' });
    });
  });
});
