// Third-party identifiers with email configured, against the whole server in both deployments:
// validation sessions and their mails (a local SMTP server receives them), the token's submission,
// registration with `m.login.email.identity`, a password reset by email, and `/account/3pid`
// add / list / delete (client-server-api § Adding Account Administrative Contact Information), and
// binding at a trusted identity server (an in-process one) and unbinding there, signed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FEDERATION_ON_LOOPBACK, MatrixClient, PASSWORD, startIdentityServer, startMailbox, startTestServer,
  type Body, type Mailbox, type ServerMode, type TestIdentityServer, type TestServer, type UserClient,
} from '../../../test/harness/index.ts';

const SUBMIT_PATH = '/_synapse/client/email/submit_token';

/** Opens a mailed link as a browser would: the status and the page. */
const openLink = async (server: TestServer, url: URL): Promise<{ status: number; page: string }> => {
  const response = await fetch(`${server.url}${url.pathname}${url.search}`, { redirect: 'manual' });
  return { status: response.status, page: await response.text() };
};

/** The token link of a validation mail, as its parts. */
const linkOf = (text: string): { url: URL; token: string; sid: string; clientSecret: string } => {
  const match = /(https?:\/\/\S+\/_synapse\/client\/email\/submit_token\?\S+)/.exec(text);
  if (match === null) throw new Error(`no link in mail: ${text}`);
  const url = new URL(match[1]!);
  return {
    url, token: url.searchParams.get('token')!, sid: url.searchParams.get('sid')!, clientSecret: url.searchParams.get('client_secret')!,
  };
};

describe.each<ServerMode>(['embedded', 'distributed'])('3PIDs by email (%s)', (mode) => {
  let mailbox: Mailbox;
  let identityServer: TestIdentityServer;
  let server: TestServer;
  let client: MatrixClient;
  let alice: UserClient;

  /** Asks for a token, takes the mail it sends, and answers the session id and the link's parts. */
  const requestToken = async (prefix: string, email: string, clientSecret: string, sendAttempt = 1) => {
    const before = mailbox.mails.length;
    const answer = await client.ok('POST', `${prefix}/email/requestToken`, { json: { client_secret: clientSecret, email, send_attempt: sendAttempt } });
    const mail = await mailbox.waitFor(email.toLowerCase(), before);
    return { sid: answer.sid as string, answer, mail, link: linkOf(mail.text) };
  };

  beforeAll(async () => {
    mailbox = await startMailbox();
    identityServer = await startIdentityServer();
    server = await startTestServer({
      mode, config: FEDERATION_ON_LOOPBACK, file: { email: mailbox.config, trusted_third_party_id_servers: [identityServer.name] },
    });
    identityServer.homeserverUrl(server.serverName, server.url);
    client = new MatrixClient(server.url);
    alice = client.as(await client.register('alice'));
  });
  afterAll(async () => {
    await server?.stop();
    await mailbox?.stop();
    await identityServer?.stop();
  });

  it('announces m.3pid_changes', async () => {
    expect((await alice.get('/capabilities')).capabilities['m.3pid_changes']).toEqual({ enabled: true });
  });

  it('validates the request body before anything is sent', async () => {
    const body = { client_secret: 'secret', email: 'someone@example.org', send_attempt: 1 };
    await client.fails('POST', '/register/email/requestToken', { status: 400, errcode: 'M_MISSING_PARAM' }, { json: { email: body.email } });
    await client.fails('POST', '/register/email/requestToken', { status: 400, errcode: 'M_INVALID_PARAM' }, { json: { ...body, client_secret: 'no spaces' } });
    await client.fails('POST', '/register/email/requestToken', { status: 400, errcode: 'M_INVALID_PARAM' }, { json: { ...body, email: 'not-an-address' } });
    await client.fails('POST', '/register/email/requestToken', { status: 400, errcode: 'M_INVALID_PARAM' }, { json: { ...body, send_attempt: 'one' } });
    await client.fails('POST', '/register/email/requestToken', { status: 400, errcode: 'M_INVALID_PARAM' }, { json: { ...body, next_link: 'javascript:alert(1)' } });
    await client.fails('POST', '/register/email/requestToken', { status: 400, errcode: 'M_INVALID_PARAM' }, { json: { ...body, id_server: 'id.example.org' } });
    await client.fails('POST', '/account/password/email/requestToken', { status: 400, errcode: 'M_THREEPID_NOT_FOUND' }, { json: body });
    // Phone numbers are still never validated.
    await client.fails('POST', '/register/msisdn/requestToken', { status: 403, errcode: 'M_THREEPID_DENIED' },
      { json: { client_secret: 'secret', country: 'GB', phone_number: '07700900001', send_attempt: 1 } });
    expect(mailbox.mails.filter((mail) => mail.to.includes('someone@example.org'))).toEqual([]);
  });

  it('registers with a validated email: one mail per send attempt, the token submitted through the link', async () => {
    const first = await requestToken('/register', 'Bob@Example.ORG', 'bobsecret');
    expect(first.answer.submit_url).toBe(`${server.url}${SUBMIT_PATH}`);
    expect(first.mail.to).toEqual(['bob@example.org']);
    expect(first.mail.from).toBe('noreply@strata.test');
    expect(first.link.sid).toBe(first.sid);
    // The same attempt again: the same session, and no second mail.
    const mailsBefore = mailbox.mails.length;
    expect((await client.ok('POST', '/register/email/requestToken', { json: { client_secret: 'bobsecret', email: 'bob@example.org', send_attempt: 1 } })).sid)
      .toBe(first.sid);
    // A new attempt: the same session with a new token; the first token no longer validates.
    const second = await requestToken('/register', 'bob@example.org', 'bobsecret', 2);
    expect(mailbox.mails.length).toBe(mailsBefore + 1);
    expect(second.sid).toBe(first.sid);
    expect(second.link.token).not.toBe(first.link.token);
    expect(await openLink(server, first.link.url)).toEqual({ status: 400, page: expect.stringContaining('not valid') });

    // Not validated yet: the stage fails.
    const challenge = await client.request('POST', '/register', { json: { username: 'bob', password: PASSWORD } });
    expect(challenge.status).toBe(401);
    expect(challenge.body.flows).toContainEqual({ stages: ['m.login.email.identity'] });
    const creds = { sid: second.sid, client_secret: 'bobsecret' };
    const early = await client.request('POST', '/register', {
      json: { username: 'bob', password: PASSWORD, auth: { type: 'm.login.email.identity', session: challenge.body.session, threepid_creds: creds } },
    });
    expect([early.status, early.body.errcode]).toEqual([401, 'M_UNAUTHORIZED']);

    // A wrong client secret does not validate; the link does.
    await client.fails('POST', SUBMIT_PATH, { status: 400, errcode: 'M_FORBIDDEN' }, { json: { sid: second.sid, client_secret: 'other', token: second.link.token } });
    expect(await openLink(server, second.link.url)).toEqual({ status: 200, page: expect.stringContaining('Your email address is validated') });

    const bob = await client.ok('POST', '/register', {
      json: { username: 'bob', password: PASSWORD, auth: { type: 'm.login.email.identity', session: challenge.body.session, threepid_creds: creds } },
    });
    expect(bob.user_id).toBe(`@bob:${server.serverName}`);
    const listed = await client.ok('GET', '/account/3pid', { token: bob.access_token as string });
    expect(listed.threepids).toEqual([{ medium: 'email', address: 'bob@example.org', validated_at: expect.any(Number), added_at: expect.any(Number) }]);

    // The address is taken now, for registration and for any other account.
    await client.fails('POST', '/register/email/requestToken', { status: 400, errcode: 'M_THREEPID_IN_USE' },
      { json: { client_secret: 'again', email: 'bob@example.org', send_attempt: 1 } });
    await client.fails('POST', '/account/3pid/email/requestToken', { status: 400, errcode: 'M_THREEPID_IN_USE' },
      { json: { client_secret: 'again', email: 'BOB@example.org', send_attempt: 1 } });
  });

  it('sends the link on to next_link once the token is submitted', async () => {
    const before = mailbox.mails.length;
    await client.ok('POST', '/register/email/requestToken', {
      json: { client_secret: 'nextsecret', email: 'next@example.org', send_attempt: 1, next_link: 'https://app.example.org/validated' },
    });
    const link = linkOf((await mailbox.waitFor('next@example.org', before)).text);
    const response = await fetch(`${server.url}${link.url.pathname}${link.url.search}`, { redirect: 'manual' });
    expect(response.status).toBe(302);
    expect(response.headers.get('location')).toBe('https://app.example.org/validated');
  });

  it('resets a password with the email stage, without an access token', async () => {
    const reset = await requestToken('/account/password', 'bob@example.org', 'resetsecret');
    expect(reset.mail.subject).toContain('reset your password');
    // The token through `submit_url`, as the identity service's submitToken body.
    expect(await client.ok('POST', new URL(reset.answer.submit_url as string).pathname, { json: { sid: reset.sid, client_secret: 'resetsecret', token: reset.link.token } }))
      .toEqual({ success: true });
    const challenge = await client.request('POST', '/account/password', { json: { new_password: 'a new password' } });
    expect(challenge.status).toBe(401);
    expect(challenge.body.flows).toEqual([{ stages: ['m.login.email.identity'] }]);
    await client.ok('POST', '/account/password', {
      json: {
        new_password: 'a new password',
        auth: { type: 'm.login.email.identity', session: challenge.body.session, threepid_creds: { sid: reset.sid, client_secret: 'resetsecret' } },
      },
    });
    await client.fails('POST', '/login', { status: 403, errcode: 'M_FORBIDDEN' },
      { json: { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'bob' }, password: PASSWORD } });
    expect((await client.login('bob', { password: 'a new password' })).userId).toBe(`@bob:${server.serverName}`);
    // The address names the account at login too (m.id.thirdparty), however it is cased.
    const byEmail = (address: string, password: string) => ({
      type: 'm.login.password', identifier: { type: 'm.id.thirdparty', medium: 'email', address }, password,
    });
    expect((await client.ok('POST', '/login', { json: byEmail('BOB@example.org', 'a new password') })).user_id).toBe(`@bob:${server.serverName}`);
    await client.fails('POST', '/login', { status: 403, errcode: 'M_FORBIDDEN' }, { json: byEmail('bob@example.org', PASSWORD) });
    await client.fails('POST', '/login', { status: 403, errcode: 'M_FORBIDDEN' }, { json: byEmail('nobody@example.org', 'a new password') });
  });

  it('adds a validated email to an account behind UIA, lists it and deletes it', async () => {
    const added = await requestToken('/account/3pid', 'alice@example.org', 'alicesecret');
    const body = { client_secret: 'alicesecret', sid: added.sid };
    const passwordAuth = (session: string): Body => ({
      type: 'm.login.password', session, identifier: { type: 'm.id.user', user: alice.userId }, password: PASSWORD,
    });
    // Before the token is submitted there is no validated session to add.
    const first = await alice.request('POST', '/account/3pid/add', { json: body });
    expect(first.status).toBe(401);
    await alice.fails('POST', '/account/3pid/add', { status: 400, errcode: 'M_THREEPID_AUTH_FAILED' },
      { json: { ...body, auth: passwordAuth(first.body.session as string) } });
    expect((await openLink(server, added.link.url)).status).toBe(200);
    // Another's client secret proves nothing.
    const other = await alice.request('POST', '/account/3pid/add', { json: { ...body, client_secret: 'notalices' } });
    await alice.fails('POST', '/account/3pid/add', { status: 400, errcode: 'M_THREEPID_AUTH_FAILED' },
      { json: { ...body, client_secret: 'notalices', auth: passwordAuth(other.body.session as string) } });

    const challenge = await alice.request('POST', '/account/3pid/add', { json: body });
    expect(await alice.post('/account/3pid/add', { ...body, auth: passwordAuth(challenge.body.session as string) })).toEqual({});
    expect((await alice.get('/account/3pid')).threepids).toEqual([
      { medium: 'email', address: 'alice@example.org', validated_at: expect.any(Number), added_at: expect.any(Number) },
    ]);

    await alice.fails('POST', '/account/3pid/delete', { status: 400, errcode: 'M_INVALID_PARAM' }, { json: { medium: 'pigeon', address: 'x' } });
    expect(await alice.post('/account/3pid/delete', { medium: 'email', address: 'Alice@example.org' })).toEqual({ id_server_unbind_result: 'no-support' });
    expect(await alice.get('/account/3pid')).toEqual({ threepids: [] });
    // Free again: it can be asked for by anyone.
    expect((await client.ok('POST', '/register/email/requestToken', { json: { client_secret: 'fresh', email: 'alice@example.org', send_attempt: 1 } })).sid)
      .toEqual(expect.any(String));
  });

  it('binds an address at a trusted identity server, and unbinds it there with a signed request', async () => {
    const creds = identityServer.validated('email', 'carol@example.org');
    const bind = { id_server: identityServer.name, id_access_token: identityServer.accessToken, ...creds };
    await alice.fails('POST', '/account/3pid/bind', { status: 400, errcode: 'M_SERVER_NOT_TRUSTED' }, { json: { ...bind, id_server: 'id.example.org' } });
    await alice.fails('POST', '/account/3pid/bind', { status: 400, errcode: 'M_INVALID_PARAM' }, { json: { ...bind, client_secret: 'not secret' } });
    expect(await alice.post('/account/3pid/bind', bind)).toEqual({});
    expect(identityServer.bindings().get('email\u0000carol@example.org')).toBe(alice.userId);
    expect(identityServer.requests.find((request) => request.path === '/_matrix/identity/v2/3pid/bind')?.authorization)
      .toBe(`Bearer ${identityServer.accessToken}`);

    // Unbinding asks the server it was bound at, signed with the homeserver's key.
    expect(await alice.post('/account/3pid/unbind', { medium: 'email', address: 'carol@example.org' })).toEqual({ id_server_unbind_result: 'success' });
    expect(identityServer.bindings().has('email\u0000carol@example.org')).toBe(false);
    expect(identityServer.requests.filter((request) => request.path === '/_matrix/identity/v2/3pid/unbind').at(-1)?.authorization)
      .toMatch(/^X-Matrix origin="?strata\.test"?,/);
    // Nothing bound any more: nothing to unbind.
    expect(await alice.post('/account/3pid/unbind', { medium: 'email', address: 'carol@example.org' })).toEqual({ id_server_unbind_result: 'no-support' });

    // Deleting with `id_server` unbinds there too; a server that no longer knows the binding is "no-support".
    await alice.post('/account/3pid/bind', { ...bind, ...identityServer.validated('email', 'carol@example.org') });
    expect(await alice.post('/account/3pid/delete', { medium: 'email', address: 'carol@example.org', id_server: identityServer.name }))
      .toEqual({ id_server_unbind_result: 'success' });
    expect(await alice.post('/account/3pid/delete', { medium: 'email', address: 'carol@example.org', id_server: identityServer.name }))
      .toEqual({ id_server_unbind_result: 'no-support' });
  });

  it('deactivation unbinds what the user bound and frees the account`s addresses', async () => {
    const erin = client.as(await client.register('erin'));
    const added = await requestToken('/account/3pid', 'erin@example.org', 'erinsecret');
    expect((await openLink(server, added.link.url)).status).toBe(200);
    const passwordAuth = (session: string): Body => ({
      type: 'm.login.password', session, identifier: { type: 'm.id.user', user: erin.userId }, password: PASSWORD,
    });
    const addChallenge = await erin.request('POST', '/account/3pid/add', { json: { client_secret: 'erinsecret', sid: added.sid } });
    await erin.post('/account/3pid/add', { client_secret: 'erinsecret', sid: added.sid, auth: passwordAuth(addChallenge.body.session as string) });
    await erin.post('/account/3pid/bind', {
      id_server: identityServer.name, id_access_token: identityServer.accessToken, ...identityServer.validated('email', 'erin@example.org'),
    });
    expect(identityServer.bindings().get('email\u0000erin@example.org')).toBe(erin.userId);

    const challenge = await erin.request('POST', '/account/deactivate', { json: {} });
    expect(await erin.post('/account/deactivate', { auth: passwordAuth(challenge.body.session as string) })).toEqual({ id_server_unbind_result: 'success' });
    expect(identityServer.bindings().has('email\u0000erin@example.org')).toBe(false);
    expect((await client.ok('POST', '/register/email/requestToken', { json: { client_secret: 'another', email: 'erin@example.org', send_attempt: 1 } })).sid)
      .toEqual(expect.any(String));
  });

  it('limits requestToken per client IP (rate_limits.threepid_validation): each may send a mail', async () => {
    const limited = await startTestServer({
      mode, file: { email: mailbox.config, rate_limits: { login: false, registration: false, threepid_validation: { per_second: 0.001, burst: 2 } } },
    });
    try {
      const other = new MatrixClient(limited.url);
      const ask = (n: number) => other.request('POST', '/register/email/requestToken', { json: { client_secret: `s${n}`, email: `limit${n}@example.org`, send_attempt: 1 } });
      expect((await ask(1)).status).toBe(200);
      expect((await ask(2)).status).toBe(200);
      const refused = await ask(3);
      expect([refused.status, refused.body.errcode]).toEqual([429, 'M_LIMIT_EXCEEDED']);
      expect(refused.body.retry_after_ms).toBeGreaterThan(0);
      expect(mailbox.mails.some((mail) => mail.to.includes('limit3@example.org'))).toBe(false);
    } finally {
      await limited.stop();
    }
  });
});
