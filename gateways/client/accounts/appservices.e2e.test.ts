// Application services on the client-server API over HTTP, both deployments (application-service-api.md
// § Client-Server API Extensions): as_token authentication and identity assertion, registration and
// login of a bridge's users, exclusive namespaces, rate-limit exemption, timestamp massaging and
// device management.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify as toYaml } from 'yaml';
import { MatrixClient, e, startTestServer, type Body, type RequestOptions, type ServerMode, type Session, type TestServer } from '../../../test/harness/index.ts';

const BRIDGE_TOKEN = 'as-token-of-the-bridge';
const LIMITED_TOKEN = 'as-token-of-the-limited-bridge';

/** Unlimited, exclusive over `@bridge_…` and `#bridge_…`. */
const bridgeRegistration = {
  id: 'bridge', url: null, as_token: BRIDGE_TOKEN, hs_token: 'hs-token-of-the-bridge', sender_localpart: 'bridgebot',
  rate_limited: false,
  namespaces: { users: [{ regex: '@bridge_.*', exclusive: true }], aliases: [{ regex: '#bridge_.*', exclusive: true }], rooms: [] },
};
/** Rate limited (the default), exclusive over `@lim_…`, sharing `#shared_…` without exclusivity. */
const limitedRegistration = {
  id: 'limited', url: null, as_token: LIMITED_TOKEN, hs_token: 'hs-token-of-the-limited-bridge', sender_localpart: 'limbot',
  namespaces: { users: [{ regex: '@lim_.*', exclusive: true }], aliases: [{ regex: '#shared_.*', exclusive: false }] },
};

describe.each<ServerMode>(['embedded', 'distributed'])('application services (%s)', (mode) => {
  let dir: string;
  let server: TestServer;
  let client: MatrixClient;
  let alice: Session;
  let room: string;
  const domain = (localpart: string): string => `@${localpart}:${server.serverName}`;
  /** A request with the bridge's as_token, acting as `userId` (and `deviceId`) when given. */
  const asBridge = (method: string, requestPath: string, options: { token?: string; userId?: string; deviceId?: string; query?: RequestOptions['query']; json?: unknown } = {}) =>
    client.request(method, requestPath, {
      token: options.token ?? BRIDGE_TOKEN,
      query: { ...(options.query ?? {}), user_id: options.userId, device_id: options.deviceId },
      ...(options.json === undefined ? {} : { json: options.json }),
    });
  const registerPuppet = async (username: string, token = BRIDGE_TOKEN, extra: Body = { inhibit_login: true }): Promise<Body> =>
    client.ok('POST', '/register', { token, json: { type: 'm.login.application_service', username, ...extra } });
  const expectError = (reply: { status: number; body: Body }, status: number, errcode: string): void => {
    expect({ status: reply.status, errcode: reply.body.errcode }).toEqual({ status, errcode });
  };

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'strata-appservices-'));
    const files = [path.join(dir, 'bridge.yaml'), path.join(dir, 'limited.yaml')];
    await writeFile(files[0]!, toYaml(bridgeRegistration));
    await writeFile(files[1]!, toYaml(limitedRegistration));
    server = await startTestServer({
      mode,
      file: {
        app_service_config_files: files,
        // Per client address: every request here comes from one, so the bursts leave room for the
        // ordinary logins and registrations the tests make before the last one exhausts them.
        rate_limits: {
          login: { per_second: 0.01, burst: 6 }, registration: { per_second: 0.01, burst: 12 }, threepid_validation: false,
          messages: { per_second: 0.01, burst: 3 },
        },
      },
    });
    client = new MatrixClient(server.url);
    alice = await client.register('alice');
    room = (await client.ok('POST', '/createRoom', { token: alice.accessToken, json: { preset: 'public_chat' } })).room_id as string;
  });
  afterAll(async () => {
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('authenticates the as_token as the bridge\'s sender, an account from start-up, without a device', async () => {
    const whoami = await asBridge('GET', '/account/whoami');
    expect(whoami.status).toBe(200);
    expect(whoami.body).toEqual({ user_id: domain('bridgebot'), is_guest: false });
    // The sender is an account: it has a profile and joins rooms.
    expect((await client.ok('GET', `/profile/${e(domain('bridgebot'))}`)).displayname).toBe('bridgebot');
    expect((await asBridge('POST', `/join/${e(room)}`, { json: {} })).status).toBe(200);
    expectError(await client.request('GET', '/account/whoami', { token: 'not-a-token' }), 401, 'M_UNKNOWN_TOKEN');
    // A user's access token is never an as_token: user_id is ignored for it.
    const own = await client.ok('GET', '/account/whoami', { token: alice.accessToken, query: { user_id: domain('bridgebot') } });
    expect(own.user_id).toBe(alice.userId);
  });

  it('registers the bridge\'s users without user-interactive auth, and only those', async () => {
    expect(await registerPuppet('bridge_ann')).toEqual({ user_id: domain('bridge_ann'), home_server: server.serverName });
    const loggedIn = await registerPuppet('bridge_ben', BRIDGE_TOKEN, { device_id: 'BENPHONE', initial_device_display_name: 'Ben' });
    expect(loggedIn.user_id).toBe(domain('bridge_ben'));
    expect(loggedIn.device_id).toBe('BENPHONE');
    expect((await client.ok('GET', '/account/whoami', { token: loggedIn.access_token as string })).user_id).toBe(domain('bridge_ben'));

    const register = (token: string | undefined, username: string) =>
      client.request('POST', '/register', { ...(token === undefined ? {} : { token }), json: { type: 'm.login.application_service', username, inhibit_login: true } });
    expectError(await register(undefined, 'bridge_cat'), 401, 'M_MISSING_TOKEN');
    expectError(await register('not-a-token', 'bridge_cat'), 401, 'M_UNKNOWN_TOKEN');
    expectError(await register(alice.accessToken, 'bridge_cat'), 401, 'M_UNKNOWN_TOKEN');
    expectError(await register(BRIDGE_TOKEN, 'someone'), 400, 'M_EXCLUSIVE');
    expectError(await register(BRIDGE_TOKEN, 'lim_dan'), 400, 'M_EXCLUSIVE');
    expectError(await register(BRIDGE_TOKEN, 'bridge_ann'), 400, 'M_USER_IN_USE');
    expectError(await register(BRIDGE_TOKEN, 'bridge ann'), 400, 'M_INVALID_USERNAME');

    // Nobody else registers in an exclusive namespace, nor finds its names available.
    expectError(await client.request('POST', '/register', { json: { username: 'bridge_eve', password: 'a long enough password' } }), 400, 'M_EXCLUSIVE');
    expectError(await client.request('GET', '/register/available', { query: { username: 'bridge_eve' } }), 400, 'M_EXCLUSIVE');
    expectError(await client.request('GET', '/register/available', { query: { username: 'bridgebot' } }), 400, 'M_EXCLUSIVE');
    expect((await client.ok('GET', '/register/available', { query: { username: 'bridgeless' } })).available).toBe(true);
  });

  it('acts as a user of its namespace (user_id) and one of their devices (device_id), nobody else', async () => {
    await registerPuppet('bridge_fay');
    const fay = domain('bridge_fay');
    expect((await asBridge('GET', '/account/whoami', { userId: fay })).body).toEqual({ user_id: fay, is_guest: false });
    expectError(await asBridge('GET', '/account/whoami', { userId: alice.userId }), 403, 'M_FORBIDDEN');
    expectError(await asBridge('GET', '/account/whoami', { userId: domain('bridge_nobody') }), 403, 'M_FORBIDDEN');
    expectError(await asBridge('GET', '/account/whoami', { userId: '@bridge_fay:elsewhere.test' }), 403, 'M_FORBIDDEN');
    expectError(await asBridge('GET', '/account/whoami', { token: LIMITED_TOKEN, userId: fay }), 403, 'M_FORBIDDEN');

    expectError(await asBridge('GET', '/account/whoami', { userId: fay, deviceId: 'NOSUCHDEVICE' }), 400, 'M_UNKNOWN_DEVICE');
    // A device id nothing can hold is refused as such, not looked up.
    expectError(await asBridge('GET', '/account/whoami', { userId: fay, deviceId: 'D'.repeat(300) }), 400, 'M_UNKNOWN_DEVICE');
    // A device made by the bridge's login (MSC2778), then asserted (also under MSC3202's name).
    const login = await client.request('POST', '/login', {
      token: BRIDGE_TOKEN, json: { type: 'm.login.application_service', identifier: { type: 'm.id.user', user: 'bridge_fay' }, device_id: 'FAYDEV' },
    });
    expect(login.status).toBe(200);
    expect([login.body.user_id, login.body.device_id]).toEqual([fay, 'FAYDEV']);
    expect((await asBridge('GET', '/account/whoami', { userId: fay, deviceId: 'FAYDEV' })).body).toEqual({ user_id: fay, device_id: 'FAYDEV', is_guest: false });
    const unstable = await client.ok('GET', '/account/whoami', { token: BRIDGE_TOKEN, query: { user_id: fay, 'org.matrix.msc3202.device_id': 'FAYDEV' } });
    expect(unstable.device_id).toBe('FAYDEV');
    // The masqueraded user joins and speaks as themselves.
    expect((await asBridge('POST', `/join/${e(room)}`, { userId: fay, json: {} })).status).toBe(200);
    const members = await client.ok('GET', `/rooms/${e(room)}/joined_members`, { token: alice.accessToken });
    expect(Object.keys(members.joined as Body)).toContain(fay);
    // Syncing as a virtual user, without a device (application-service-api.md § Using /sync and /events).
    const sync = await asBridge('GET', '/sync', { userId: fay, query: { timeout: 0 } });
    expect(sync.status).toBe(200);
    expect(Object.keys(sync.body.rooms.join as Body)).toContain(room);
  });

  it('logs in only its users with m.login.application_service, which GET /login offers', async () => {
    const flows = (await client.ok('GET', '/login')).flows as Body[];
    expect(flows.map((flow) => flow.type)).toContain('m.login.application_service');
    const login = (token: string | undefined, user: string) => client.request('POST', '/login', {
      ...(token === undefined ? {} : { token }), json: { type: 'm.login.application_service', identifier: { type: 'm.id.user', user } },
    });
    expectError(await login(BRIDGE_TOKEN, 'alice'), 403, 'M_EXCLUSIVE');
    expectError(await login(undefined, 'bridge_ann'), 401, 'M_MISSING_TOKEN');
    expectError(await login('not-a-token', 'bridge_ann'), 401, 'M_UNKNOWN_TOKEN');
    expect((await login(BRIDGE_TOKEN, domain('bridge_ann'))).body.user_id).toBe(domain('bridge_ann'));
  });

  it('keeps exclusive aliases to their bridge, and the bridge to its aliases', async () => {
    const alias = (name: string): string => `#${name}:${server.serverName}`;
    const put = (name: string, options: RequestOptions) =>
      client.request('PUT', `/directory/room/${e(alias(name))}`, { ...options, json: { room_id: room } });
    expectError(await put('bridge_hall', { token: alice.accessToken }), 400, 'M_EXCLUSIVE');
    expectError(await client.request('POST', '/createRoom', { token: alice.accessToken, json: { room_alias_name: 'bridge_new' } }), 400, 'M_EXCLUSIVE');
    expectError(await put('hall', { token: BRIDGE_TOKEN }), 400, 'M_EXCLUSIVE');
    // The bridge manages its own (its sender is not even needed in the room), and a shared namespace stays open.
    expect((await put('bridge_hall', { token: BRIDGE_TOKEN })).status).toBe(200);
    expect((await client.ok('GET', `/directory/room/${e(alias('bridge_hall'))}`)).room_id).toBe(room);
    expect((await put('shared_hall', { token: alice.accessToken })).status).toBe(200);
    expectError(await client.request('DELETE', `/directory/room/${e(alias('bridge_hall'))}`, { token: alice.accessToken }), 400, 'M_EXCLUSIVE');
    expectError(await client.request('DELETE', `/directory/room/${e(alias('shared_hall'))}`, { token: BRIDGE_TOKEN }), 400, 'M_EXCLUSIVE');
    expect((await client.request('DELETE', `/directory/room/${e(alias('bridge_hall'))}`, { token: BRIDGE_TOKEN })).status).toBe(200);
    const created = await client.request('POST', '/createRoom', { token: BRIDGE_TOKEN, json: { room_alias_name: 'bridge_portal' } });
    expect(created.status).toBe(200);
    expect((await client.ok('GET', `/directory/room/${e(alias('bridge_portal'))}`)).room_id).toBe(created.body.room_id);
  });

  it('spares an unlimited bridge\'s requests the rate limits, and only those', async () => {
    await registerPuppet('bridge_gil');
    const gil = domain('bridge_gil');
    await asBridge('POST', `/join/${e(room)}`, { userId: gil, json: {} });
    const send = (options: { token: string; userId?: string }, n: number) =>
      asBridge('PUT', `/rooms/${e(room)}/send/m.room.message/rl-${options.userId ?? 'self'}-${n}`, { ...options, json: { msgtype: 'm.text', body: `${n}` } });
    for (let n = 0; n < 6; n++) expect((await send({ token: BRIDGE_TOKEN, userId: gil }, n)).status).toBe(200);
    for (let n = 0; n < 6; n++) expect((await send({ token: BRIDGE_TOKEN }, n)).status).toBe(200);

    const statuses: number[] = [];
    for (let n = 0; n < 5; n++) {
      statuses.push((await client.request('PUT', `/rooms/${e(room)}/send/m.room.message/alice-rl-${n}`, {
        token: alice.accessToken, json: { msgtype: 'm.text', body: `${n}` },
      })).status);
    }
    expect(statuses).toContain(429);
    await asBridge('POST', `/join/${e(room)}`, { token: LIMITED_TOKEN, json: {} });
    const limited: number[] = [];
    for (let n = 0; n < 5; n++) limited.push((await send({ token: LIMITED_TOKEN }, n)).status);
    expect(limited).toContain(429);
  });

  it('stamps a bridge\'s events with its ts (send and state), never anyone else\'s', async () => {
    await registerPuppet('bridge_hal');
    const hal = domain('bridge_hal');
    await asBridge('POST', `/join/${e(room)}`, { userId: hal, json: {} });
    const event = async (eventId: string): Promise<Body> => client.ok('GET', `/rooms/${e(room)}/event/${e(eventId)}`, { token: alice.accessToken });

    const sent = await asBridge('PUT', `/rooms/${e(room)}/send/m.room.message/ts-1`, { userId: hal, query: { ts: 1_500_000_000_000 }, json: { msgtype: 'm.text', body: 'old' } });
    expect(sent.status).toBe(200);
    expect((await event(sent.body.event_id as string)).origin_server_ts).toBe(1_500_000_000_000);
    const posted = await asBridge('POST', `/rooms/${e(room)}/send/m.room.message`, { userId: hal, query: { ts: 0 }, json: { msgtype: 'm.text', body: 'epoch' } });
    expect((await event(posted.body.event_id as string)).origin_server_ts).toBe(0);
    const state = await asBridge('PUT', `/rooms/${e(room)}/state/m.room.member/${e(hal)}`, {
      userId: hal, query: { ts: 1_600_000_000_000 }, json: { membership: 'join', displayname: 'Hal (bridged)' },
    });
    expect(state.status).toBe(200);
    expect((await event(state.body.event_id as string)).origin_server_ts).toBe(1_600_000_000_000);

    for (const ts of ['-1', 'soon', '1.5', '99999999999999999999']) {
      expectError(await asBridge('PUT', `/rooms/${e(room)}/send/m.room.message/ts-bad-${ts}`, { userId: hal, query: { ts }, json: { body: 'x' } }), 400, 'M_INVALID_PARAM');
    }
    // Another user's ts is ignored (a user who has not spent their message tokens).
    const carl = await client.register('carl');
    await client.ok('POST', `/join/${e(room)}`, { token: carl.accessToken, json: {} });
    const before = Date.now();
    const own = await client.ok('PUT', `/rooms/${e(room)}/send/m.room.message/carl-ts`, {
      token: carl.accessToken, query: { ts: 1_500_000_000_000 }, json: { msgtype: 'm.text', body: 'now' },
    });
    expect((await event(own.event_id as string)).origin_server_ts).toBeGreaterThanOrEqual(before - 1000);
  });

  it('creates and deletes its users\' devices without user-interactive auth (since v1.17)', async () => {
    await registerPuppet('bridge_ivy');
    const ivy = domain('bridge_ivy');
    const created = await asBridge('PUT', '/devices/IVYDEV', { userId: ivy, json: { display_name: 'Ivy\'s bridge device' } });
    expect(created.status).toBe(201);
    expect((await asBridge('PUT', '/devices/IVYDEV', { userId: ivy, json: { display_name: 'renamed' } })).status).toBe(200);
    expect((await asBridge('GET', '/devices/IVYDEV', { userId: ivy })).body.display_name).toBe('renamed');
    expect((await asBridge('GET', '/account/whoami', { userId: ivy, deviceId: 'IVYDEV' })).body.device_id).toBe('IVYDEV');
    expectError(await client.request('PUT', '/devices/ALICENEW', { token: alice.accessToken, json: {} }), 404, 'M_NOT_FOUND');

    expect((await asBridge('DELETE', '/devices/IVYDEV', { userId: ivy, json: {} })).status).toBe(200);
    expectError(await asBridge('GET', '/devices/IVYDEV', { userId: ivy }), 404, 'M_NOT_FOUND');
    await asBridge('PUT', '/devices/IVY2', { userId: ivy, json: {} });
    await asBridge('PUT', '/devices/IVY3', { userId: ivy, json: {} });
    expect((await asBridge('POST', '/delete_devices', { userId: ivy, json: { devices: ['IVY2', 'IVY3'] } })).status).toBe(200);
    expect((await asBridge('GET', '/devices', { userId: ivy })).body.devices).toEqual([]);
    // A user's own deletion still asks for user-interactive auth.
    const device = await client.login('alice', { deviceId: 'ALICEOLD' });
    expect((await client.request('DELETE', '/devices/ALICEOLD', { token: alice.accessToken, json: {} })).status).toBe(401);
    expect(device.deviceId).toBe('ALICEOLD');
  });

  it('uploads keys only for a device, and replaces cross-signing keys without user-interactive auth (since v1.17)', async () => {
    await registerPuppet('bridge_kim');
    const kim = domain('bridge_kim');
    await asBridge('PUT', '/devices/KIMDEV', { userId: kim, json: {} });
    const deviceKeys = { user_id: kim, device_id: 'KIMDEV', algorithms: ['m.olm.v1.curve25519-aes-sha2'], keys: { 'ed25519:KIMDEV': 'k' }, signatures: {} };
    expectError(await asBridge('POST', '/keys/upload', { userId: kim, json: { one_time_keys: { 'curve25519:A': 'a' } } }), 400, 'M_UNKNOWN_DEVICE');
    expect((await asBridge('POST', '/keys/upload', { userId: kim, deviceId: 'KIMDEV', json: { device_keys: deviceKeys } })).status).toBe(200);
    const master = (id: string): Body => ({ master_key: { user_id: kim, usage: ['master'], keys: { [`ed25519:${id}`]: id } } });
    expect((await asBridge('POST', '/keys/device_signing/upload', { userId: kim, json: master('AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA') })).status).toBe(200);
    expect((await asBridge('POST', '/keys/device_signing/upload', { userId: kim, json: master('BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB') })).status).toBe(200);
    const query = await client.ok('POST', '/keys/query', { token: alice.accessToken, json: { device_keys: { [kim]: [] } } });
    expect(Object.keys(query.master_keys[kim].keys as Body)).toEqual(['ed25519:BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB']);
    expect(Object.keys(query.device_keys[kim] as Body)).toEqual(['KIMDEV']);
  });

  // Last: it spends the address's login and registration tokens.
  it('counts ordinary logins and registrations, never an unlimited bridge\'s', async () => {
    for (let n = 0; n < 15; n++) await registerPuppet(`bridge_many${n}`);
    for (let n = 0; n < 10; n++) {
      expect((await client.request('POST', '/login', {
        token: BRIDGE_TOKEN, json: { type: 'm.login.application_service', identifier: { type: 'm.id.user', user: 'bridge_many0' } },
      })).status).toBe(200);
    }
    const registrations: number[] = [];
    for (let n = 0; n < 15; n++) registrations.push((await client.request('GET', '/register/available', { query: { username: `free${n}` } })).status);
    expect(registrations).toContain(429);
    const logins: number[] = [];
    for (let n = 0; n < 10; n++) logins.push((await client.request('POST', '/login', { json: { type: 'm.login.password', user: 'alice', password: 'wrong' } })).status);
    expect(logins).toContain(429);
  });
});
