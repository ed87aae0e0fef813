// Shared-secret registration over HTTP, with the MAC built as Synapse's docs describe it.
import { createMemoryAccountStore } from '../../test/builders/index.ts';
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccounts, type AccountsContext } from '../../domain/app/accounts/index.ts';
import { createArgon2PasswordHasher, cryptoRandom, systemClock } from '../../infra/stores/index.ts';
import { createAccountsRouter } from '../client/accounts/index.ts';
import { serveTestApp, type TestApp } from '../../test/harness/index.ts';
import { createSharedSecretRegistrationRouter } from './sharedSecretRegistration.ts';

const SECRET = 'bootstrap secret';
const PATH = '/_synapse/admin/v1/register';

const serve = (secret: string | undefined): Promise<TestApp> => {
  const ctx: AccountsContext = {
    store: createMemoryAccountStore(),
    hasher: createArgon2PasswordHasher({ memory: 1024, passes: 2, parallelism: 1 }),
    clock: systemClock,
    random: cryptoRandom,
    serverName: 'example.org',
    registration: 'disabled',
    ...(secret === undefined ? {} : { registrationSharedSecret: secret }),
  };
  const accounts = createAccounts(ctx);
  return serveTestApp({
    routers: [
      createSharedSecretRegistrationRouter(accounts),
      createAccountsRouter({ accounts, rateLimits: { login: null, registration: null } }),
    ],
  });
};

const mac = (nonce: string, username: string, password: string, admin: boolean, userType?: string): string =>
  createHmac('sha1', SECRET)
    .update([nonce, username, password, admin ? 'admin' : 'notadmin', ...(userType === undefined ? [] : [userType])].join('\0'))
    .digest('hex');

const json = async (response: Response) => ({ status: response.status, body: (await response.json()) as Record<string, unknown> });
const getNonce = async (server: TestApp): Promise<string> => {
  const { status, body } = await json(await fetch(`${server.url}${PATH}`));
  expect(status).toBe(200);
  return body.nonce as string;
};
const post = async (server: TestApp, body: unknown) =>
  json(await fetch(`${server.url}${PATH}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }));

describe('shared-secret registration', () => {
  let server: TestApp;
  beforeAll(async () => {
    server = await serve(SECRET);
  });
  afterAll(() => server.close());

  it('registers with a valid MAC even when public registration is disabled', async () => {
    const nonce = await getNonce(server);
    const reply = await post(server, { nonce, username: 'admin', password: 'pw', admin: true, displayname: 'Admin', mac: mac(nonce, 'admin', 'pw', true) });
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({
      access_token: expect.any(String),
      user_id: '@admin:example.org',
      home_server: 'example.org',
      device_id: expect.any(String),
    });
    const whoami = await json(
      await fetch(`${server.url}/_matrix/client/v3/account/whoami`, { headers: { authorization: `Bearer ${reply.body.access_token as string}` } }),
    );
    expect(whoami.body.user_id).toBe('@admin:example.org');
    const profile = await json(await fetch(`${server.url}/_matrix/client/v3/profile/@admin:example.org`));
    expect(profile.body).toEqual({ displayname: 'Admin' });
  });

  it('includes user_type in the MAC when given', async () => {
    const nonce = await getNonce(server);
    const reply = await post(server, { nonce, username: 'bot', password: 'pw', user_type: 'bot', mac: mac(nonce, 'bot', 'pw', false, 'bot') });
    expect(reply.status).toBe(200);
  });

  it('refuses a wrong MAC with 403, then the spent nonce with 400', async () => {
    const nonce = await getNonce(server);
    const wrong = await post(server, { nonce, username: 'eve', password: 'pw', mac: mac(nonce, 'eve', 'other', false) });
    expect([wrong.status, wrong.body.errcode]).toEqual([403, 'M_FORBIDDEN']);
    const replay = await post(server, { nonce, username: 'eve', password: 'pw', mac: mac(nonce, 'eve', 'pw', false) });
    expect(replay.status).toBe(400);
    const unknown = await post(server, { nonce: 'made-up', username: 'eve', password: 'pw', mac: mac('made-up', 'eve', 'pw', false) });
    expect(unknown.status).toBe(400);
  });

  it('validates the request body', async () => {
    const missing = await post(server, { nonce: await getNonce(server), username: 'x', password: 'pw' });
    expect([missing.status, missing.body.errcode]).toEqual([400, 'M_MISSING_PARAM']);
    const nonce = await getNonce(server);
    const invalid = await post(server, { nonce, username: 'Not Valid', password: 'pw', mac: mac(nonce, 'Not Valid', 'pw', false) });
    expect([invalid.status, invalid.body.errcode]).toEqual([400, 'M_INVALID_USERNAME']);
  });

  it('is off without a configured secret', async () => {
    const off = await serve(undefined);
    try {
      expect((await fetch(`${off.url}${PATH}`)).status).toBe(400);
    } finally {
      await off.close();
    }
  });
});
