// The errors every client-server endpoint shares (client-server-api/_index.md § API Standards, § Common
// error codes, § Rate limiting), derived from the spec's OpenAPI for each issue-4 operation: a missing
// or unknown access token, a body that is not JSON, a JSON body that is not an object; and unknown
// endpoints, wrong methods and rate limits. Every answer is validated against the operation's schema.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MatrixClient, startTestServer, type TestServer, type UserClient } from '../harness/index.ts';
import { ConformingClient, issue4Operations, pathOf } from './conformance.ts';
import { ClientServerSpec, type Operation } from './openapi.ts';

const spec = ClientServerSpec.load();
const operations = issue4Operations(spec);
const named = (list: Operation[]): [string, Operation][] => list.map((operation) => [`${operation.method} ${operation.template}`, operation]);

describe('errors common to every endpoint (embedded)', () => {
  let server: TestServer;
  let client: MatrixClient;
  let alice: UserClient;
  let anonymous: ConformingClient;
  let asAlice: ConformingClient;
  /** Path parameters that name real things alice may act on, so that only the body or token is wrong. */
  let parameters: Record<string, string>;

  beforeAll(async () => {
    server = await startTestServer({ mode: 'embedded' });
    client = new MatrixClient(server.url);
    alice = client.as(await client.register('alice'));
    const bob = await client.register('bob');
    anonymous = new ConformingClient(client, spec);
    asAlice = anonymous.as(alice.session);
    const roomId = await alice.createRoom({ preset: 'public_chat' });
    const eventId = await alice.send(roomId, 'hello');
    parameters = {
      roomId, roomIdOrAlias: roomId, eventId, userId: alice.userId, txnId: 'conformance-txn', eventType: 'm.room.message',
      stateKey: '', deviceId: alice.session.deviceId, roomAlias: `#common:${server.serverName}`, keyName: 'displayname',
      kind: 'override', ruleId: 'org.example.rule', tag: 'u.work', type: 'org.example.data', receiptType: 'm.read',
      filterId: '0', protocol: 'irc',
    };
    expect(bob.userId).not.toBe(alice.userId);
  });
  afterAll(() => server?.stop());

  describe('a request without an access token → 401 M_MISSING_TOKEN (§ Using access tokens)', () => {
    for (const [name, operation] of named(operations.filter((candidate) => candidate.requiresToken))) {
      it(name, async () => {
        await anonymous.fails(operation.method, pathOf(operation, parameters), { status: 401, errcode: 'M_MISSING_TOKEN' },
          operation.takesBody ? { json: {} } : {});
      });
    }
  });

  describe('a request with an unknown access token → 401 M_UNKNOWN_TOKEN (§ Using access tokens)', () => {
    for (const [name, operation] of named(operations.filter((candidate) => candidate.requiresToken))) {
      it(name, async () => {
        await anonymous.fails(operation.method, pathOf(operation, parameters), { status: 401, errcode: 'M_UNKNOWN_TOKEN' },
          { token: 'syt_not_a_token', ...(operation.takesBody ? { json: {} } : {}) });
      });
    }
  });

  describe('a body that is not JSON → 400 M_NOT_JSON (§ Common error codes)', () => {
    for (const [name, operation] of named(operations.filter((candidate) => candidate.takesBody))) {
      it(name, async () => {
        await asAlice.fails(operation.method, pathOf(operation, parameters), { status: 400, errcode: 'M_NOT_JSON' }, { raw: '{"unterminated' });
      });
    }
  });

  describe('a JSON body that is not an object → 400 M_BAD_JSON (§ Common error codes)', () => {
    for (const [name, operation] of named(operations.filter((candidate) => candidate.takesBody))) {
      // account-data.yaml 400: "The request body is not a JSON object. Errcode: M_BAD_JSON or M_NOT_JSON."
      const errcode = operation.file === 'account-data.yaml' ? ['M_BAD_JSON', 'M_NOT_JSON'] : 'M_BAD_JSON';
      it(name, async () => {
        await asAlice.fails(operation.method, pathOf(operation, parameters), { status: 400, errcode }, { json: ['not', 'an', 'object'] });
      });
    }
  });

  it('answers an unknown endpoint with 404 M_UNRECOGNIZED and a known one with the wrong method with 405 M_UNRECOGNIZED', async () => {
    const unknown = await client.request('GET', '/no/such/endpoint', { token: alice.session.accessToken });
    expect({ status: unknown.status, errcode: unknown.body.errcode }).toEqual({ status: 404, errcode: 'M_UNRECOGNIZED' });
    const wrongMethod = await client.request('DELETE', '/account/whoami', { token: alice.session.accessToken });
    expect({ status: wrongMethod.status, errcode: wrongMethod.body.errcode }).toEqual({ status: 405, errcode: 'M_UNRECOGNIZED' });
  });

  it('answers OPTIONS on every issue-4 endpoint without running it, with the CORS headers (§ Web Browser Clients)', async () => {
    for (const operation of operations) {
      const url = `${server.url}${pathOf(operation, parameters)}`;
      const reply = await fetch(url, { method: 'OPTIONS', headers: { origin: 'https://app.example', 'access-control-request-method': operation.method } });
      expect({ url, ok: reply.status >= 200 && reply.status < 300, origin: reply.headers.get('access-control-allow-origin') })
        .toEqual({ url, ok: true, origin: '*' });
      expect(reply.headers.get('access-control-allow-methods') ?? '').toContain(operation.method);
      expect((reply.headers.get('access-control-allow-headers') ?? '').toLowerCase()).toContain('authorization');
    }
    // "MUST NOT perform any logic defined for the endpoints": an OPTIONS on /createRoom creates nothing.
    const before = (await asAlice.get('/joined_rooms')).joined_rooms as string[];
    await fetch(`${server.url}/_matrix/client/v3/createRoom`, { method: 'OPTIONS', headers: { authorization: `Bearer ${alice.session.accessToken}` } });
    expect((await asAlice.get('/joined_rooms')).joined_rooms).toEqual(before);
  });

  it('sends Access-Control-Allow-Origin: * on ordinary answers, errors included (§ Web Browser Clients)', async () => {
    const ok = await client.request('GET', '/account/whoami', { token: alice.session.accessToken });
    const error = await client.request('GET', '/account/whoami');
    expect([ok.headers.get('access-control-allow-origin'), error.headers.get('access-control-allow-origin')]).toEqual(['*', '*']);
  });
});

describe('rate limits (§ Rate limiting): 429 M_LIMIT_EXCEEDED, retry_after_ms and Retry-After', () => {
  let server: TestServer;
  let client: MatrixClient;
  let anonymous: ConformingClient;

  beforeAll(async () => {
    const tight = { per_second: 0.01, burst: 2 };
    server = await startTestServer({ mode: 'embedded', file: { rate_limits: { login: tight, registration: tight, messages: tight } } });
    client = new MatrixClient(server.url);
    anonymous = new ConformingClient(client, spec);
  });
  afterAll(() => server?.stop());

  /** Repeats `attempt` until it is refused with 429 (at most 6 times), and checks that answer. */
  const untilLimited = async (attempt: () => Promise<{ status: number; body: Record<string, unknown>; headers: Headers }>): Promise<void> => {
    for (let tries = 0; tries < 6; tries += 1) {
      const reply = await attempt();
      if (reply.status !== 429) continue;
      expect(reply.body.errcode).toBe('M_LIMIT_EXCEEDED');
      expect(reply.body.retry_after_ms).toEqual(expect.any(Number));
      // "Homeservers SHOULD include a Retry-After header for any response with a 429 status code."
      expect(Number(reply.headers.get('retry-after'))).toBeGreaterThan(0);
      return;
    }
    throw new Error('never rate-limited');
  };

  it('limits /login', async () => {
    const user = await client.registerWithSharedSecret(server.registrationSharedSecret, 'limited');
    await untilLimited(() => anonymous.request('POST', '/login', {
      json: { type: 'm.login.password', identifier: { type: 'm.id.user', user: user.userId }, password: 'wrong' },
    }));
  });

  it('limits /register', async () => {
    let n = 0;
    await untilLimited(() => anonymous.request('POST', '/register', { json: { username: `r${(n += 1)}`, password: 'pw', auth: { type: 'm.login.dummy' } } }));
  });

  it('limits sending messages', async () => {
    const sender = anonymous.as(await client.registerWithSharedSecret(server.registrationSharedSecret, 'chatty'));
    const { room_id: roomId } = await sender.post('/createRoom', {});
    let n = 0;
    await untilLimited(() => sender.request('PUT', `/rooms/${encodeURIComponent(String(roomId))}/send/m.room.message/t${(n += 1)}`,
      { json: { msgtype: 'm.text', body: 'hi' } }));
  });
});
