// Client-server endpoints a sweep of the spec's endpoint index found unrouted, over HTTP against the
// whole server (embedded): registration token validity, the 3PID requestToken family, third-party
// lookups, `/.well-known/matrix/support` and the deprecated `/initialSync` and `/events/{eventId}`.
// Expectations come from the spec (v1.19) and, where it leaves room, from Synapse without email,
// SMS, identity server or application services.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MatrixClient, e, startTestServer, type Body, type TestServer, type UserClient } from '../../test/harness/index.ts';

const VALIDITY = '/_matrix/client/v1/register/m.login.registration_token/validity';

/** `unsigned.age` moves between two reads of the same event: compared without it. */
const withoutAge = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.map(withoutAge);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).filter(([key]) => key !== 'age').map(([key, inner]) => [key, withoutAge(inner)]));
};

/** The harness's client puts paths under /_matrix/client/v3; the well-known documents are at the root. */
const wellKnownSupport = async (server: TestServer): Promise<{ status: number; body: unknown }> => {
  const response = await fetch(`${server.url}/.well-known/matrix/support`);
  return { status: response.status, body: await response.json() };
};

const roomIn = (body: Body, roomId: string): Body | undefined => (body.rooms as Body[]).find((room) => room.room_id === roomId);

describe('endpoints answered as a server without email, SMS, identity server or bridges (embedded)', () => {
  let server: TestServer;
  let client: MatrixClient;
  let alice: UserClient;
  let bob: UserClient;
  let carol: UserClient;
  /** alice's private room: bob invited, carol joined and left. */
  let hall: string;
  let hallMessages: string[];

  beforeAll(async () => {
    server = await startTestServer({ mode: 'embedded' });
    client = new MatrixClient(server.url);
    [alice, bob, carol] = await Promise.all(['alice', 'bob', 'carol'].map(async (name) => client.as(await client.register(name))));
    hall = await alice.createRoom({ preset: 'private_chat', name: 'Hall' });
    await alice.post(`/rooms/${e(hall)}/invite`, { user_id: carol.userId });
    await carol.post(`/rooms/${e(hall)}/join`);
    hallMessages = [await alice.send(hall, 'one'), await alice.send(hall, 'two')];
    await carol.post(`/rooms/${e(hall)}/leave`);
    await alice.post(`/rooms/${e(hall)}/invite`, { user_id: bob.userId });
  });
  afterAll(() => server?.stop());

  describe('GET /v1/register/m.login.registration_token/validity (registration_tokens.yaml)', () => {
    it('answers false for any token: this server issues none', async () => {
      expect(await client.ok('GET', VALIDITY, { query: { token: 'fBVFdqVE' } })).toEqual({ valid: false });
      expect(await client.ok('GET', VALIDITY, { query: { token: '' } })).toEqual({ valid: false });
    });

    it('wants the token: 400 M_MISSING_PARAM', async () => {
      expect((await client.request('GET', VALIDITY)).body)
        .toEqual({ errcode: 'M_MISSING_PARAM', error: "Missing string query parameter 'token'" });
      await client.fails('GET', VALIDITY, { status: 400, errcode: 'M_MISSING_PARAM' });
    });
  });

  describe('POST …/{email,msisdn}/requestToken: no email or SMS is sent', () => {
    const email = { client_secret: 'monkeys_are_GREAT', email: 'alice@example.org', send_attempt: 1 };
    const phone = { client_secret: 'monkeys_are_GREAT', country: 'GB', phone_number: '07700 900001', send_attempt: 1 };

    it('registration: 403 M_THREEPID_DENIED (registration.yaml), email before reading the body', async () => {
      expect(await client.request('POST', '/register/email/requestToken', { json: email })).toMatchObject({
        status: 403, body: { errcode: 'M_THREEPID_DENIED', error: 'Email-based registration has been disabled on this server' },
      });
      await client.fails('POST', '/register/email/requestToken', { status: 403, errcode: 'M_THREEPID_DENIED' }, { raw: 'not json' });
      expect(await client.request('POST', '/register/msisdn/requestToken', { json: phone })).toMatchObject({
        status: 403, body: { errcode: 'M_THREEPID_DENIED', error: 'Registration by phone number is not supported on this homeserver' },
      });
    });

    it('password reset: 403 M_THREEPID_DENIED (password_management.yaml)', async () => {
      expect(await client.request('POST', '/account/password/email/requestToken', { json: email })).toMatchObject({
        status: 403, body: { errcode: 'M_THREEPID_DENIED', error: 'Email-based password resets have been disabled on this server' },
      });
      expect(await client.request('POST', '/account/password/msisdn/requestToken', { json: phone })).toMatchObject({
        status: 403, body: { errcode: 'M_THREEPID_DENIED', error: 'Password resets by phone number are not supported on this homeserver' },
      });
    });

    it('adding to an account still answers 400 M_THREEPID_MEDIUM_NOT_SUPPORTED (administrative_contact.yaml)', async () => {
      await client.fails('POST', '/account/3pid/email/requestToken', { status: 400, errcode: 'M_THREEPID_MEDIUM_NOT_SUPPORTED' }, { json: email });
      await client.fails('POST', '/account/3pid/msisdn/requestToken', { status: 400, errcode: 'M_THREEPID_MEDIUM_NOT_SUPPORTED' }, { json: phone });
    });

    it('checks a phone number request first, as Synapse does, on every msisdn endpoint', async () => {
      for (const path of ['/register/msisdn/requestToken', '/account/password/msisdn/requestToken', '/account/3pid/msisdn/requestToken']) {
        expect((await client.request('POST', path, { json: { client_secret: 'x', send_attempt: 1 } })).body)
          .toEqual({ errcode: 'M_MISSING_PARAM', error: 'Missing params: country, phone_number' });
        expect((await client.request('POST', path, { json: { ...phone, client_secret: 'not allowed!' } })).body)
          .toEqual({ errcode: 'M_INVALID_PARAM', error: 'Invalid client_secret parameter' });
        expect((await client.request('POST', path, { json: { ...phone, phone_number: 'call me' } })).body)
          .toEqual({ errcode: 'M_INVALID_PARAM', error: 'Unable to parse phone number' });
        await client.fails('POST', path, { status: 400, errcode: 'M_INVALID_PARAM' }, { json: { ...phone, country: 'gb' } });
        await client.fails('POST', path, { status: 400, errcode: 'M_NOT_JSON' }, { raw: 'not json' });
      }
    });
  });

  describe('third-party lookups (third_party_lookup.yaml) with no bridge registered', () => {
    it('knows no protocol: {} and 404 M_NOT_FOUND', async () => {
      expect(await alice.get('/thirdparty/protocols')).toEqual({});
      expect((await alice.request('GET', '/thirdparty/protocol/irc')).body).toEqual({ errcode: 'M_NOT_FOUND', error: 'Unknown protocol' });
      await alice.fails('GET', '/thirdparty/protocol/irc', { status: 404, errcode: 'M_NOT_FOUND' });
    });

    it('finds no location or user: []', async () => {
      for (const [path, query] of [
        ['/thirdparty/location', { alias: '#freenode_#matrix:matrix.org' }], ['/thirdparty/location/irc', { server: 'irc.example' }],
        ['/thirdparty/user', { userid: '@freenode_nick:matrix.org' }], ['/thirdparty/user/irc', { nick: 'nick' }],
      ] as const) {
        expect((await alice.request('GET', path, { query })).body).toEqual([]);
      }
    });

    it('wants an access token', async () => {
      for (const path of ['/thirdparty/protocol/irc', '/thirdparty/location', '/thirdparty/user/irc']) {
        await client.fails('GET', path, { status: 401, errcode: 'M_MISSING_TOKEN' });
      }
    });
  });

  it('GET /.well-known/matrix/support: 404 when none is configured (support.yaml)', async () => {
    expect(await wellKnownSupport(server))
      .toEqual({ status: 404, body: { errcode: 'M_NOT_FOUND', error: 'No server support information available' } });
  });

  describe('GET /initialSync (old_sync.yaml, deprecated)', () => {
    it('answers each joined room as /rooms/{roomId}/initialSync does, with /sync`s token, presence, receipts and account data', async () => {
      await alice.put(`/user/${e(alice.userId)}/account_data/org.example.config`, { colour: 'green' });
      const answer = await alice.get('/initialSync');
      expect(Object.keys(answer).sort()).toEqual(['account_data', 'end', 'presence', 'receipts', 'rooms']);
      expect(answer.end).toMatch(/^s/);
      expect(answer.presence).toEqual(expect.any(Array));
      expect(answer.receipts).toEqual(expect.any(Array));
      expect(answer.account_data).toContainEqual({ type: 'org.example.config', content: { colour: 'green' } });
      // Presence and receipts of the whole account come once, beside the rooms (Synapse's snapshot).
      const { presence: _presence, receipts: _receipts, ...roomAlone } = await alice.get(`/rooms/${e(hall)}/initialSync`);
      expect(withoutAge(answer.rooms)).toEqual([withoutAge(roomAlone)]);
      // `end` is a /sync `since`.
      expect((await alice.sync({ since: String(answer.end), timeout: 0 })).next_batch).toEqual(expect.any(String));
    });

    it('honours limit and archived; lists invites with their event', async () => {
      const one = roomIn(await alice.get('/initialSync', { limit: 1 }), hall)!;
      // The newest event of the hall is bob's invite.
      expect(((one.messages as Body).chunk as Body[]).map((event) => [event.type, event.state_key])).toEqual([['m.room.member', bob.userId]]);

      expect((await carol.get('/initialSync')).rooms).toEqual([]);
      const archived = roomIn(await carol.get('/initialSync', { archived: true }), hall)!;
      expect(archived).toMatchObject({ room_id: hall, membership: 'leave', visibility: 'private' });
      expect(((archived.messages as Body).chunk as Body[]).map((event) => event.event_id)).toEqual(expect.arrayContaining(hallMessages));

      const invite = roomIn(await bob.get('/initialSync'), hall)!;
      expect(invite).toMatchObject({
        room_id: hall, membership: 'invite', visibility: 'private', inviter: alice.userId,
        invite: { type: 'm.room.member', state_key: bob.userId, sender: alice.userId, room_id: hall, content: { membership: 'invite' } },
      });
      expect(Object.keys(invite).sort()).toEqual(['invite', 'inviter', 'membership', 'room_id', 'visibility']);
    });

    it('refuses a bad limit or archived with 400 M_INVALID_PARAM', async () => {
      await alice.fails('GET', '/initialSync', { status: 400, errcode: 'M_INVALID_PARAM' }, { query: { limit: -1 } });
      await alice.fails('GET', '/initialSync', { status: 400, errcode: 'M_INVALID_PARAM' }, { query: { archived: 'yes' } });
      await client.fails('GET', '/initialSync', { status: 401, errcode: 'M_MISSING_TOKEN' });
    });
  });

  describe('GET /events/{eventId} (old_sync.yaml, deprecated)', () => {
    it('answers the event as /rooms/{roomId}/event/{eventId} does', async () => {
      const [first] = hallMessages;
      expect(withoutAge(await alice.get(`/events/${e(first!)}`))).toEqual(withoutAge(await alice.get(`/rooms/${e(hall)}/event/${e(first!)}`)));
      // carol left after it was sent: it is still hers to read.
      expect((await carol.get(`/events/${e(first!)}`)).event_id).toBe(first);
    });

    it('404 M_NOT_FOUND for an unknown event and for one the user may not see', async () => {
      expect((await alice.request('GET', `/events/${e('$nosuchevent')}`)).body).toEqual({ errcode: 'M_NOT_FOUND', error: 'Event not found' });
      const outsider = client.as(await client.register('dave'));
      await outsider.fails('GET', `/events/${e(hallMessages[0]!)}`, { status: 404, errcode: 'M_NOT_FOUND' });
      await client.fails('GET', `/events/${e(hallMessages[0]!)}`, { status: 401, errcode: 'M_MISSING_TOKEN' });
    });
  });
});

describe('registration disabled, support configured and a tight registration limit (embedded)', () => {
  let server: TestServer;
  let client: MatrixClient;
  const support = {
    contacts: [
      { matrix_id: '@admin:example.org', email_address: 'admin@example.org', role: 'm.role.admin' },
      { email_address: 'security@example.org', role: 'm.role.security' },
    ],
    support_page: 'https://example.org/support.html',
  };

  beforeAll(async () => {
    server = await startTestServer({
      mode: 'embedded',
      config: { STRATA_REGISTRATION: 'disabled' },
      file: { support, rate_limits: { registration: { per_second: 0.01, burst: 2 } } },
    });
    client = new MatrixClient(server.url);
  });
  afterAll(() => server?.stop());

  it('serves the configured support document', async () => {
    expect(await wellKnownSupport(server)).toEqual({ status: 200, body: support });
  });

  it('token validity: 403 M_FORBIDDEN while registration is disabled, rate-limited like registration', async () => {
    expect(await client.request('GET', VALIDITY, { query: { token: 'abc' } })).toMatchObject({
      status: 403, body: { errcode: 'M_FORBIDDEN', error: 'Registration is disabled' },
    });
    await client.fails('GET', VALIDITY, { status: 403, errcode: 'M_FORBIDDEN' }, { query: { token: 'abc' } });
    const limited = await client.request('GET', VALIDITY, { query: { token: 'abc' } });
    expect({ status: limited.status, errcode: limited.body.errcode }).toEqual({ status: 429, errcode: 'M_LIMIT_EXCEEDED' });
  });
});
