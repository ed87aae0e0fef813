// Invites by email through an identity server, end to end in both deployments (client-server-api
// § Third-party invites, identity_service_api lookup / store-invite / bind, server-server-api
// `3pid/onbind`): alice invites bob@example.org, who has no account yet; bob registers with that
// address (the mail reaches a local SMTP server, the token is submitted, `m.login.email.identity`
// completes registration), binds it at the identity server, whose onbind makes Strata send alice's
// invite with the signed third-party invite; bob joins, reads the history, and alice receives his
// message. An address already bound is invited as its Matrix id.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FEDERATION_ON_LOOPBACK, MatrixClient, PASSWORD, e, messageBodies, startIdentityServer, startMailbox, startTestServer, timelineOf,
  type Body, type Mailbox, type ServerMode, type TestIdentityServer, type TestServer, type UserClient,
} from '../harness/index.ts';
import { startFakeRemoteServer, type FakeRemoteServer } from '../harness/fakeRemoteServer.ts';
import { addEventSignature, roomVersionRules, type JsonObject, type Pdu } from '../../domain/index.ts';

describe.each<ServerMode>(['embedded', 'distributed'])('invites by email (%s)', (mode) => {
  let mailbox: Mailbox;
  let identityServer: TestIdentityServer;
  let server: TestServer;
  let remote: FakeRemoteServer;
  let client: MatrixClient;
  let alice: UserClient;
  let bob: UserClient;
  let roomId: string;

  const storedFor = (address: string) => identityServer.invites.find((invite) => invite.address === address)!;

  const inviteByEmail = (who: UserClient, room: string, address: string, extra: Body = {}) => who.request('POST', `/rooms/${e(room)}/invite`, {
    json: { id_server: identityServer.name, id_access_token: identityServer.accessToken, medium: 'email', address, ...extra },
  });

  /** Registers `username` with `email` proven through the mailed link. */
  const registerWithEmail = async (username: string, email: string): Promise<UserClient> => {
    const before = mailbox.mails.length;
    const { sid } = await client.ok('POST', '/register/email/requestToken', { json: { client_secret: `${username}secret`, email, send_attempt: 1 } });
    const mail = await mailbox.waitFor(email, before);
    const link = /(https?:\/\/\S+\/_synapse\/client\/email\/submit_token\?\S+)/.exec(mail.text)?.[1];
    expect(link).toBeDefined();
    const url = new URL(link!);
    expect((await fetch(`${server.url}${url.pathname}${url.search}`)).status).toBe(200);
    const challenge = await client.request('POST', '/register', { json: { username, password: PASSWORD } });
    const session = await client.ok('POST', '/register', {
      json: {
        username, password: PASSWORD,
        auth: { type: 'm.login.email.identity', session: challenge.body.session, threepid_creds: { sid, client_secret: `${username}secret` } },
      },
    });
    return client.as({ userId: session.user_id as string, accessToken: session.access_token as string, deviceId: session.device_id as string });
  };

  beforeAll(async () => {
    mailbox = await startMailbox();
    identityServer = await startIdentityServer();
    server = await startTestServer({
      mode, config: FEDERATION_ON_LOOPBACK, file: { email: mailbox.config, trusted_third_party_id_servers: [identityServer.name] },
    });
    identityServer.homeserverUrl(server.serverName, server.url);
    remote = await startFakeRemoteServer(server);
    // The other server co-signs invites of its users, as any homeserver does.
    remote.serve('PUT', '/_matrix/federation/v2/invite/', (request) => {
      const body = request.body as { event: Pdu; room_version: string };
      return { status: 200, body: { event: addEventSignature(body.event, roomVersionRules(body.room_version)!, remote.key) as unknown as JsonObject } };
    });
    remote.serve('PUT', '/_matrix/federation/v1/exchange_third_party_invite/', () => ({ status: 200, body: {} }));
    client = new MatrixClient(server.url);
    alice = client.as(await client.register('alice'));
    roomId = await alice.createRoom({ preset: 'private_chat', name: 'Garden' });
    await alice.send(roomId, 'before bob');
  });
  afterAll(async () => {
    await remote?.stop();
    await server?.stop();
    await mailbox?.stop();
    await identityServer?.stop();
  });

  it('refuses malformed invites and untrusted identity servers', async () => {
    const missing = await alice.request('POST', `/rooms/${e(roomId)}/invite`, { json: { medium: 'email', address: 'x@example.org' } });
    expect([missing.status, missing.body.errcode]).toEqual([400, 'M_MISSING_PARAM']);
    const untrusted = await inviteByEmail(alice, roomId, 'x@example.org', { id_server: 'id.example.org' });
    expect([untrusted.status, untrusted.body.errcode]).toEqual([400, 'M_SERVER_NOT_TRUSTED']);
    const tooLong = await inviteByEmail(alice, roomId, `${'x'.repeat(500)}@example.org`);
    expect([tooLong.status, tooLong.body.errcode]).toEqual([400, 'M_INVALID_PARAM']);
  });

  it('stores an invite for an unbound address as m.room.third_party_invite, with the identity server`s keys', async () => {
    expect((await inviteByEmail(alice, roomId, 'Bob@Example.org')).status).toBe(200);
    // The hashed lookup came first: hash_details, then lookup with sha256 and the pepper.
    const lookup = identityServer.requests.find((request) => request.path === '/_matrix/identity/v2/lookup');
    expect(lookup?.body).toMatchObject({ algorithm: 'sha256', addresses: [expect.stringMatching(/^[A-Za-z0-9_-]{43}$/)] });
    const stored = storedFor('bob@example.org');
    expect(stored).toMatchObject({ medium: 'email', address: 'bob@example.org', roomId, sender: alice.userId });
    const state = await alice.get(`/rooms/${e(roomId)}/state/m.room.third_party_invite/${e(stored.token)}`);
    expect(state).toEqual({
      display_name: expect.any(String),
      key_validity_url: `https://${identityServer.name}/_matrix/identity/v2/pubkey/isvalid`,
      public_key: identityServer.publicKeyBase64,
      public_keys: [{ public_key: identityServer.publicKeyBase64, key_validity_url: `https://${identityServer.name}/_matrix/identity/v2/pubkey/isvalid` }],
    });
  });

  it('a non-member cannot invite by email', async () => {
    const dave = client.as(await client.register('dave'));
    const asked = identityServer.requests.length;
    const refused = await inviteByEmail(dave, roomId, 'someone@example.org');
    expect([refused.status, refused.body.errcode]).toEqual([403, 'M_FORBIDDEN']);
    // Nothing was asked of the identity server, nothing stored there.
    expect(identityServer.requests.length).toBe(asked);
  });

  it('a forged onbind invites nobody', async () => {
    const stored = storedFor('bob@example.org');
    const forged = {
      medium: 'email', address: 'bob@example.org', mxid: `@mallory:${server.serverName}`,
      invites: [{
        medium: 'email', address: 'bob@example.org', mxid: `@mallory:${server.serverName}`, room_id: roomId, sender: alice.userId,
        signed: { mxid: `@mallory:${server.serverName}`, sender: alice.userId, token: stored.token, signatures: { [identityServer.name]: { 'ed25519:0': 'A'.repeat(86) } } },
      }],
    };
    expect(await client.ok('PUT', '/_matrix/federation/v1/3pid/onbind', { json: forged })).toEqual({});
    const members = await alice.get(`/rooms/${e(roomId)}/members`);
    expect((members.chunk as Body[]).map((event) => event.state_key)).not.toContain(`@mallory:${server.serverName}`);
  });

  it('bob registers with the address, binds it, is invited through onbind, joins, reads and talks', async () => {
    bob = await registerWithEmail('bob', 'bob@example.org');
    expect(await bob.post('/account/3pid/bind', {
      id_server: identityServer.name, id_access_token: identityServer.accessToken, ...identityServer.validated('email', 'bob@example.org'),
    })).toEqual({});

    const invited = await bob.syncUntil((response) => response.rooms?.invite?.[roomId] !== undefined);
    const inviteEvent = (invited.rooms.invite[roomId].invite_state.events as Body[])
      .find((event) => event.type === 'm.room.member' && event.state_key === bob.userId);
    expect(inviteEvent?.sender).toBe(alice.userId);
    const member = await alice.get(`/rooms/${e(roomId)}/state/m.room.member/${e(bob.userId)}`);
    expect(member).toMatchObject({
      membership: 'invite',
      third_party_invite: { display_name: expect.any(String), signed: { mxid: bob.userId, token: storedFor('bob@example.org').token } },
    });

    await bob.post(`/join/${e(roomId)}`);
    const history = await bob.get(`/rooms/${e(roomId)}/messages`, { dir: 'b', limit: 50 });
    expect((history.chunk as Body[]).filter((event) => event.type === 'm.room.message').map((event) => event.content.body)).toContain('before bob');

    const since = (await alice.sync()).next_batch as string;
    await bob.send(roomId, 'hello from bob');
    const received = await alice.syncUntil((response) => messageBodies(timelineOf(response, roomId)).includes('hello from bob'), { since });
    expect(messageBodies(timelineOf(received, roomId))).toContain('hello from bob');
  });

  it('an address already bound is invited as its Matrix id', async () => {
    const other = await alice.createRoom({ preset: 'private_chat' });
    const storedBefore = identityServer.invites.length;
    expect((await inviteByEmail(alice, other, 'bob@example.org')).status).toBe(200);
    expect(identityServer.invites.length).toBe(storedBefore);
    expect(await alice.get(`/rooms/${e(other)}/state/m.room.member/${e(bob.userId)}`)).toMatchObject({ membership: 'invite' });
    const state = await alice.get(`/rooms/${e(other)}/state`);
    expect((state as unknown as Body[]).filter((event) => event.type === 'm.room.third_party_invite')).toEqual([]);
  });

  it('completes, when another server forwards it (exchange_third_party_invite), an invite of that server`s user', async () => {
    expect((await inviteByEmail(alice, roomId, 'far@example.org')).status).toBe(200);
    const far = `@far:${remote.serverName}`;
    const exchange = (signed: JsonObject) => remote.request('PUT', `/_matrix/federation/v1/exchange_third_party_invite/${e(roomId)}`, {
      type: 'm.room.member', room_id: roomId, sender: alice.userId, state_key: far,
      content: { membership: 'invite', third_party_invite: { signed } },
    });
    const token = storedFor('far@example.org').token;
    // A block the identity server did not sign is refused by the room's auth rules.
    const forged = await exchange({ mxid: far, sender: alice.userId, token, signatures: { [identityServer.name]: { 'ed25519:0': 'A'.repeat(86) } } });
    expect([forged.status, forged.body.errcode]).toEqual([403, 'M_FORBIDDEN']);
    const answer = await exchange(identityServer.sign({ mxid: far, sender: alice.userId, token }));
    expect([answer.status, answer.body]).toEqual([200, {}]);
    expect(await alice.get(`/rooms/${e(roomId)}/state/m.room.member/${e(far)}`)).toMatchObject({
      membership: 'invite', third_party_invite: { display_name: expect.any(String), signed: { mxid: far, token } },
    });
    expect(remote.received.some((request) => request.path.startsWith('/_matrix/federation/v2/invite/'))).toBe(true);
  });

  it('forwards an invite made on another server to it when the invitee binds the address here', async () => {
    const erin = client.as(await client.register('erin'));
    const carol = `@carol:${remote.serverName}`;
    const room = `!elsewhere:${remote.serverName}`;
    identityServer.addInvite({ medium: 'email', address: 'erin@example.org', roomId: room, sender: carol, token: 'remote-token' });
    expect(await erin.post('/account/3pid/bind', {
      id_server: identityServer.name, id_access_token: identityServer.accessToken, ...identityServer.validated('email', 'erin@example.org'),
    })).toEqual({});
    const forwarded = remote.received.find((request) => request.path === `/_matrix/federation/v1/exchange_third_party_invite/${e(room)}`);
    expect(forwarded?.body).toMatchObject({
      type: 'm.room.member', room_id: room, sender: carol, state_key: erin.userId,
      content: { membership: 'invite', third_party_invite: { signed: { mxid: erin.userId, sender: carol, token: 'remote-token' } } },
    });
  });

  it('joins with third_party_signed: the signed block stands in for the invite not yet sent', async () => {
    expect((await inviteByEmail(alice, roomId, 'gina@example.org')).status).toBe(200);
    const gina = client.as(await client.register('gina'));
    const token = storedFor('gina@example.org').token;
    const join = (signed: JsonObject) => gina.request('POST', `/join/${e(roomId)}`, { json: { third_party_signed: signed } });
    const forged = await join({ mxid: gina.userId, sender: alice.userId, token, signatures: { [identityServer.name]: { 'ed25519:0': 'A'.repeat(86) } } });
    expect([forged.status, forged.body.errcode]).toEqual([403, 'M_FORBIDDEN']);
    const notMine = await join(identityServer.sign({ mxid: bob.userId, sender: alice.userId, token }));
    expect([notMine.status, notMine.body.errcode]).toEqual([400, 'M_INVALID_PARAM']);
    const joined = await join({ ...identityServer.sign({ mxid: gina.userId, sender: alice.userId, token }) });
    expect([joined.status, joined.body]).toEqual([200, { room_id: roomId }]);
    expect(await alice.get(`/rooms/${e(roomId)}/state/m.room.member/${e(gina.userId)}`)).toMatchObject({ membership: 'join' });
  });
});
