// What clients and bridges ask of bridges through the client API, over HTTP against the whole server
// in both deployments (application-service-api.md, appservice_ping.yaml, appservice_room_directory.yaml,
// third_party_lookup.yaml): the ping, third-party protocols and lookups merged across bridges, bridges'
// network lists in /publicRooms, and the alias and user queries on ids nobody here knows.
//
// The bridges are one node:http server written here: each registration's url is the server plus a
// path of its own, so one listener plays several bridges that answer differently (well, an error
// status, never, and one whose port is closed).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify as toYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MatrixClient, e, freePort, startTestServer, type Body, type ServerMode, type TestServer, type UserClient,
} from '../../test/harness/index.ts';

const SERVER_NAME = 'strata.test';
const PING = '/_matrix/client/v1/appservice';
const PROTOCOL = 'testnet';

/** The bridges: `answers` how each answers its ping; the first two declare the protocol. */
const BRIDGES = ['bridge', 'second', 'broken', 'slow', 'down', 'nourl'] as const;
type BridgeId = (typeof BRIDGES)[number];

const registrationOf = (id: BridgeId, url: string | null): Body => ({
  id, url, as_token: `as_${id}`, hs_token: `hs_${id}`, sender_localpart: `${id}bot`,
  namespaces: id === 'bridge'
    ? { users: [{ regex: '@tb_.*', exclusive: true }], aliases: [{ regex: '#tb_.*', exclusive: true }], rooms: [] }
    : { users: [], aliases: [], rooms: [] },
  ...(id === 'bridge' || id === 'second' ? { protocols: [PROTOCOL] } : {}),
});

/** What the bridges were asked, as `<bridge> <METHOD> <path after /_matrix/app/v1> <query>`. */
interface BridgeLog {
  readonly requests: string[];
  readonly pings: string[];
  readonly badTokens: string[];
}

/**
 * Synapse's answers that the spec's operations leave out (refusals of what only bridges may do, a
 * malformed instance id, Synapse's DELETE): asserted outside the spec check (STRATA_VALIDATE_SPEC),
 * as the harness client would record them as undocumented.
 */
const unchecked = async (
  server: TestServer, method: string, requestPath: string, options: { token: string; json?: unknown; query?: Record<string, string> },
): Promise<{ status: number; body: Body }> => {
  const query = new URLSearchParams(options.query ?? {}).toString();
  const response = await fetch(`${server.url}/_matrix/client/v3${requestPath}${query === '' ? '' : `?${query}`}`, {
    method,
    headers: { authorization: `Bearer ${options.token}`, ...(options.json === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(options.json === undefined ? {} : { body: JSON.stringify(options.json) }),
  });
  return { status: response.status, body: await response.json() as Body };
};

const reply = (res: ServerResponse, status: number, body: unknown): void => {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': typeof body === 'string' ? 'text/plain' : 'application/json' });
  res.end(text);
};

const readBody = (req: IncomingMessage): Promise<string> => new Promise((resolve, reject) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk)).on('end', () => resolve(Buffer.concat(chunks).toString('utf8'))).on('error', reject);
});

const protocolInfo = (id: string): Body => ({
  user_fields: ['nick'], location_fields: ['channel'], icon: 'mxc://example.org/testnet',
  field_types: { nick: { regexp: '[a-z]+', placeholder: 'bob' }, channel: { regexp: '[a-z]+', placeholder: 'lobby' } },
  instances: [{ desc: `TestNet via ${id}`, icon: 'mxc://example.org/testnet', fields: {}, network_id: `${id}-net` }],
});

/** The bridges' side: one handler per bridge id, chosen by the url's first path segment. */
const startBridges = async (homeserver: () => string): Promise<{ server: Server; url: string; log: BridgeLog }> => {
  const log: BridgeLog = { requests: [], pings: [], badTokens: [] };
  const hanging: ServerResponse[] = [];
  const asBridge = async (method: string, requestPath: string, json?: unknown): Promise<Body> => {
    const response = await fetch(`${homeserver()}/_matrix/client/v3${requestPath}`, {
      method, headers: { authorization: 'Bearer as_bridge', 'content-type': 'application/json' }, body: JSON.stringify(json ?? {}),
    });
    const body = await response.json() as Body;
    if (response.status !== 200) throw new Error(`bridge ${method} ${requestPath} → ${response.status} ${JSON.stringify(body)}`);
    return body;
  };
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://bridge');
    const [id, ...rest] = url.pathname.split('/').slice(1);
    const appPath = `/${rest.join('/')}`;
    if (req.headers.authorization !== `Bearer hs_${id}`) {
      log.badTokens.push(`${id} ${req.method} ${appPath}`);
      return reply(res, 403, { errcode: 'M_FORBIDDEN' });
    }
    const route = appPath.startsWith('/_matrix/app/v1') ? appPath.slice('/_matrix/app/v1'.length) : appPath;
    const query = Object.fromEntries(url.searchParams);
    log.requests.push(`${id} ${req.method} ${decodeURIComponent(route)} ${JSON.stringify(query)}`);
    if (req.method === 'POST' && route === '/ping') {
      const body = JSON.parse(await readBody(req)) as Body;
      log.pings.push(`${id} ${String(body.transaction_id)}`);
      if (id === 'broken') return reply(res, 500, 'the bridge is on fire');
      if (id === 'slow') {
        hanging.push(res);
        return undefined;
      }
      return reply(res, 200, {});
    }
    if (req.method === 'GET' && route === `/thirdparty/protocol/${PROTOCOL}`) return reply(res, 200, protocolInfo(id!));
    if (req.method === 'GET' && route === `/thirdparty/location/${PROTOCOL}`) {
      const channel = query.channel ?? 'lobby';
      return reply(res, 200, [
        { alias: `#tb_${channel}_${id}:${SERVER_NAME}`, protocol: PROTOCOL, fields: { channel } },
        // Out of the spec's shape (no `fields`): left out of the merge.
        { alias: `#tb_broken_${id}:${SERVER_NAME}`, protocol: PROTOCOL },
      ]);
    }
    if (req.method === 'GET' && route === '/thirdparty/location') {
      return reply(res, 200, [{ alias: query.alias, protocol: PROTOCOL, fields: { channel: `from-${id}` } }]);
    }
    if (req.method === 'GET' && route === `/thirdparty/user/${PROTOCOL}`) {
      return reply(res, 200, [{ userid: `@tb_${query.nick ?? 'x'}:${SERVER_NAME}`, protocol: PROTOCOL, fields: { nick: query.nick ?? 'x', via: id } }]);
    }
    if (req.method === 'GET' && route === '/thirdparty/user') {
      return reply(res, 200, [{ userid: query.userid, protocol: PROTOCOL, fields: { nick: `from-${id}` } }]);
    }
    const alias = /^\/rooms\/(.+)$/.exec(route)?.[1];
    if (req.method === 'GET' && id === 'bridge' && alias !== undefined) {
      const localpart = decodeURIComponent(alias).slice(1).split(':')[0]!;
      if (!localpart.startsWith('tb_portal')) return reply(res, 404, { errcode: 'M_NOT_FOUND' });
      // The spec: the bridge creates the room with this alias before it answers.
      await asBridge('POST', '/createRoom', { room_alias_name: localpart, name: `Portal ${localpart}`, preset: 'public_chat' });
      return reply(res, 200, {});
    }
    const user = /^\/users\/(.+)$/.exec(route)?.[1];
    if (req.method === 'GET' && id === 'bridge' && user !== undefined) {
      const userId = decodeURIComponent(user);
      const localpart = userId.slice(1).split(':')[0]!;
      if (!localpart.startsWith('tb_known')) return reply(res, 404, { errcode: 'M_NOT_FOUND' });
      await asBridge('POST', '/register', { type: 'm.login.application_service', username: localpart, inhibit_login: true });
      await asBridge('PUT', `/profile/${e(userId)}/displayname?user_id=${e(userId)}`, { displayname: `Puppet ${localpart}` });
      return reply(res, 200, {});
    }
    return reply(res, 404, { errcode: 'M_UNRECOGNIZED' });
  };
  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => reply(res, 500, { errcode: 'M_UNKNOWN', error: String(error) }));
  });
  server.on('close', () => {
    for (const res of hanging) res.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, log };
};

describe.each<ServerMode>(['embedded', 'distributed'])('bridges asked through the client API (%s)', (mode) => {
  let server: TestServer;
  let bridges: Awaited<ReturnType<typeof startBridges>>;
  let dir: string;
  let client: MatrixClient;
  let alice: UserClient;
  /** Requests as a bridge, with its as_token. */
  const as = (id: BridgeId) => ({ token: `as_${id}` });

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'strata-bridging-'));
    bridges = await startBridges(() => server.url);
    const closedPort = await freePort();
    const files: string[] = [];
    for (const id of BRIDGES) {
      const url = id === 'nourl' ? null : id === 'down' ? `http://127.0.0.1:${closedPort}` : `${bridges.url}/${id}`;
      const file = path.join(dir, `${id}.yaml`);
      await writeFile(file, toYaml(registrationOf(id, url)));
      files.push(file);
    }
    server = await startTestServer({ mode, file: { app_service_config_files: files } });
    client = new MatrixClient(server.url);
    alice = client.as(await client.register('alice'));
  });
  afterAll(async () => {
    await server?.stop();
    await new Promise((resolve) => bridges?.server.close(resolve));
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  describe('POST /appservice/{appserviceId}/ping', () => {
    it('calls the bridge with the transaction id and answers how long it took', async () => {
      const answer = await client.ok('POST', `${PING}/bridge/ping`, { ...as('bridge'), json: { transaction_id: 'ping-1' } });
      expect(Number.isInteger(answer.duration_ms) && answer.duration_ms >= 0).toBe(true);
      expect(bridges.log.pings).toContain('bridge ping-1');
    });

    it('is only for the bridge named in the path', async () => {
      await alice.fails('POST', `${PING}/bridge/ping`, { status: 403, errcode: 'M_FORBIDDEN' }, { json: {} });
      await client.fails('POST', `${PING}/bridge/ping`, { status: 403, errcode: 'M_FORBIDDEN' }, { ...as('second'), json: {} });
      await client.fails('POST', `${PING}/bridge/ping`, { status: 401, errcode: 'M_UNKNOWN_TOKEN' }, { token: 'as_nobody', json: {} });
    });

    it('tells a bridge without url, an error status, a closed port and a bridge that never answers apart', async () => {
      await client.fails('POST', `${PING}/nourl/ping`, { status: 400, errcode: 'M_URL_NOT_SET' }, { ...as('nourl'), json: {} });
      const bad = await client.fails('POST', `${PING}/broken/ping`, { status: 502, errcode: 'M_BAD_STATUS' }, { ...as('broken'), json: {} });
      expect([bad.status, bad.body]).toEqual([500, 'the bridge is on fire']);
      await client.fails('POST', `${PING}/down/ping`, { status: 502, errcode: 'M_CONNECTION_FAILED' }, { ...as('down'), json: {} });
      await client.fails('POST', `${PING}/slow/ping`, { status: 504, errcode: 'M_CONNECTION_TIMEOUT' }, { ...as('slow'), json: {} });
      await client.fails('POST', `${PING}/bridge/ping`, { status: 400, errcode: 'M_INVALID_PARAM' }, { ...as('bridge'), json: { transaction_id: 5 } });
    });
  });

  describe('third-party networks', () => {
    const instances = [
      { desc: 'TestNet via bridge', icon: 'mxc://example.org/testnet', fields: {}, network_id: 'bridge-net', instance_id: 'bridge|bridge-net' },
      { desc: 'TestNet via second', icon: 'mxc://example.org/testnet', fields: {}, network_id: 'second-net', instance_id: 'second|second-net' },
    ];

    it('describes a protocol with the instances of every bridge that declares it', async () => {
      const protocols = await alice.get('/thirdparty/protocols');
      expect(Object.keys(protocols)).toEqual([PROTOCOL]);
      expect(protocols[PROTOCOL]).toEqual({ ...protocolInfo('bridge'), instances });
      expect(await alice.get(`/thirdparty/protocol/${PROTOCOL}`)).toEqual(protocols[PROTOCOL]);
      await alice.fails('GET', '/thirdparty/protocol/xmpp', { status: 404, errcode: 'M_NOT_FOUND' });
      // Kept: asked again, the bridges are not.
      const asked = bridges.log.requests.filter((line) => line.includes('/thirdparty/protocol/')).length;
      await alice.get('/thirdparty/protocols');
      expect(bridges.log.requests.filter((line) => line.includes('/thirdparty/protocol/'))).toHaveLength(asked);
    });

    it('merges the locations and users the bridges of the protocol find, leaving out malformed ones', async () => {
      expect(await alice.get(`/thirdparty/location/${PROTOCOL}`, { channel: 'lobby' })).toEqual([
        { alias: `#tb_lobby_bridge:${SERVER_NAME}`, protocol: PROTOCOL, fields: { channel: 'lobby' } },
        { alias: `#tb_lobby_second:${SERVER_NAME}`, protocol: PROTOCOL, fields: { channel: 'lobby' } },
      ]);
      expect(bridges.log.requests).toContain(`bridge GET /thirdparty/location/${PROTOCOL} {"channel":"lobby"}`);
      const users = await alice.get(`/thirdparty/user/${PROTOCOL}`, { nick: 'bob' });
      expect(users.map((user: Body) => user.fields.via)).toEqual(['bridge', 'second']);
      expect(await alice.get('/thirdparty/location/xmpp', { channel: 'lobby' })).toEqual([]);
    });

    it('asks every bridge for reverse lookups', async () => {
      const alias = `#tb_lobby:${SERVER_NAME}`;
      const locations = await alice.get('/thirdparty/location', { alias });
      expect(locations.map((location: Body) => location.fields.channel).sort()).toEqual(['from-bridge', 'from-broken', 'from-second', 'from-slow']);
      expect(locations.every((location: Body) => location.alias === alias)).toBe(true);
      const users = await alice.get('/thirdparty/user', { userid: `@tb_bob:${SERVER_NAME}` });
      expect(users).toHaveLength(4);
      expect(await alice.get('/thirdparty/user')).toEqual([]);
    });
  });

  describe('bridges\' network lists in /publicRooms', () => {
    let bridged: string;
    let ours: string;
    const listed = (page: Body): string[] => (page.chunk as Body[]).map((room) => room.room_id as string);

    beforeAll(async () => {
      bridged = await alice.createRoom({ preset: 'public_chat', name: 'Bridged' });
      ours = await alice.createRoom({ preset: 'public_chat', name: 'Ours', visibility: 'public' });
    });

    it('publish a room for one network only: it is listed for that instance, or with include_all_networks', async () => {
      const listPath = `/directory/list/appservice/bridge-net/${e(bridged)}`;
      const refused = async (
        method: string, requestPath: string, options: { token: string; json?: unknown; query?: Record<string, string> }, expected: [number, string],
      ): Promise<void> => {
        const answer = await unchecked(server, method, requestPath, options);
        expect([answer.status, answer.body.errcode]).toEqual(expected);
      };
      await refused('PUT', listPath, { token: alice.session.accessToken, json: { visibility: 'public' } }, [403, 'M_FORBIDDEN']);
      await refused('PUT', listPath, { token: 'as_bridge', json: { visibility: 'secret' } }, [400, 'M_INVALID_PARAM']);
      await refused('PUT', `/directory/list/appservice/a%7Cb/${e(bridged)}`, { token: 'as_bridge', json: { visibility: 'public' } }, [400, 'M_INVALID_PARAM']);
      await client.ok('PUT', listPath, { ...as('bridge'), json: { visibility: 'public' } });

      expect(listed(await alice.post('/publicRooms', {}))).toEqual([ours]);
      expect(listed(await alice.get('/publicRooms'))).toEqual([ours]);
      expect(listed(await alice.post('/publicRooms', { third_party_instance_id: 'bridge|bridge-net' }))).toEqual([bridged]);
      expect(listed(await alice.get('/publicRooms', { third_party_instance_id: 'bridge|bridge-net' }))).toEqual([bridged]);
      expect(listed(await alice.post('/publicRooms', { third_party_instance_id: 'second|bridge-net' }))).toEqual([]);
      expect(listed(await alice.post('/publicRooms', { include_all_networks: true })).sort()).toEqual([bridged, ours].sort());
      expect(listed(await alice.get('/publicRooms', { include_all_networks: true })).sort()).toEqual([bridged, ours].sort());
      const token = alice.session.accessToken;
      await refused('POST', '/publicRooms', { token, json: { third_party_instance_id: 'no-separator' } }, [400, 'M_INVALID_PARAM']);
      await refused('POST', '/publicRooms', { token, json: { include_all_networks: true, third_party_instance_id: 'bridge|bridge-net' } }, [400, 'M_INVALID_PARAM']);
      await refused('GET', '/publicRooms', { token, query: { include_all_networks: 'maybe' } }, [400, 'M_INVALID_PARAM']);
    });

    it('withdraw it again', async () => {
      await client.ok('PUT', `/directory/list/appservice/bridge-net/${e(bridged)}`, { ...as('bridge'), json: { visibility: 'private' } });
      expect(listed(await alice.post('/publicRooms', { third_party_instance_id: 'bridge|bridge-net' }))).toEqual([]);
      await client.ok('PUT', `/directory/list/appservice/other-net/${e(bridged)}`, { ...as('bridge'), json: { visibility: 'public' } });
      expect(listed(await alice.post('/publicRooms', { third_party_instance_id: 'bridge|other-net' }))).toEqual([bridged]);
      expect((await unchecked(server, 'DELETE', `/directory/list/appservice/other-net/${e(bridged)}`, { token: 'as_bridge' })).status).toBe(200);
      expect(listed(await alice.post('/publicRooms', { include_all_networks: true }))).toEqual([ours]);
    });
  });

  describe('ids nobody here knows, in a bridge\'s namespace', () => {
    const asked = (what: string): string[] => bridges.log.requests.filter((line) => line.includes(what));

    it('an alias: the bridge is asked, creates the room, and the alias resolves', async () => {
      const alias = `#tb_portal_one:${SERVER_NAME}`;
      const found = await client.ok('GET', `/directory/room/${e(alias)}`);
      expect(found.servers).toEqual([SERVER_NAME]);
      expect(asked(`/rooms/${alias}`)).toHaveLength(1);
      const state = await client.ok('GET', `/rooms/${e(found.room_id as string)}/state/m.room.canonical_alias`, { token: 'as_bridge' });
      expect(state.alias).toBe(alias);
      // Known now: not asked again.
      await client.ok('GET', `/directory/room/${e(alias)}`);
      expect(asked(`/rooms/${alias}`)).toHaveLength(1);
    });

    it('an alias joined by a client: the portal is created on the way', async () => {
      const alias = `#tb_portal_two:${SERVER_NAME}`;
      const joined = await alice.post(`/join/${e(alias)}`);
      expect(asked(`/rooms/${alias}`)).toHaveLength(1);
      expect((await alice.get('/joined_rooms')).joined_rooms).toContain(joined.room_id);
    });

    it('an alias the bridge does not know, or outside every namespace, stays unknown', async () => {
      await client.fails('GET', `/directory/room/${e(`#tb_nothing:${SERVER_NAME}`)}`, { status: 404, errcode: 'M_NOT_FOUND' });
      expect(asked(`/rooms/#tb_nothing:${SERVER_NAME}`)).toHaveLength(1);
      await client.fails('GET', `/directory/room/${e(`#elsewhere:${SERVER_NAME}`)}`, { status: 404, errcode: 'M_NOT_FOUND' });
      expect(asked('#elsewhere')).toEqual([]);
    });

    it('a user looked up: the bridge is asked and registers them, then their profile is there', async () => {
      const userId = `@tb_known_one:${SERVER_NAME}`;
      expect(await alice.get(`/profile/${e(userId)}`)).toEqual({ displayname: 'Puppet tb_known_one' });
      expect(asked(`/users/${userId}`)).toHaveLength(1);
      await alice.fails('GET', `/profile/${e(`@tb_stranger:${SERVER_NAME}`)}`, { status: 404, errcode: 'M_NOT_FOUND' });
      expect(asked(`/users/@tb_stranger:${SERVER_NAME}`)).toHaveLength(1);
      await alice.fails('GET', `/profile/${e(`@nobody:${SERVER_NAME}`)}`, { status: 404, errcode: 'M_NOT_FOUND' });
      expect(asked('@nobody')).toEqual([]);
    });

    it('a user invited: the bridge is asked first, so the invite carries their profile', async () => {
      const userId = `@tb_known_two:${SERVER_NAME}`;
      const room = await alice.createRoom({ preset: 'private_chat' });
      await alice.post(`/rooms/${e(room)}/invite`, { user_id: userId });
      expect(asked(`/users/${userId}`)).toHaveLength(1);
      const member = await alice.get(`/rooms/${e(room)}/state/m.room.member/${e(userId)}`);
      expect(member).toEqual({ membership: 'invite', displayname: 'Puppet tb_known_two' });
    });

    it('a user invited through PUT /state/m.room.member: the bridge is asked first too', async () => {
      const userId = `@tb_known_three:${SERVER_NAME}`;
      const room = await alice.createRoom({ preset: 'private_chat' });
      await alice.put(`/rooms/${e(room)}/state/m.room.member/${e(userId)}`, { membership: 'invite' });
      expect(asked(`/users/${userId}`)).toHaveLength(1);
      expect(await alice.get(`/profile/${e(userId)}`)).toEqual({ displayname: 'Puppet tb_known_three' });
    });

    it('every request carried the bridge\'s hs_token', () => {
      expect(bridges.log.badTokens).toEqual([]);
    });
  });
});
