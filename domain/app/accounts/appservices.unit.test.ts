import { describe, expect, it } from 'vitest';
import { parseRegistration } from '../../appservices/index.ts';
import { createAccounts, type Accounts } from './accounts.ts';
import { createTestContext, guarded, type TestAccountsContext } from '../../../test/builders/index.ts';

const bridge = parseRegistration({
  id: 'bridge', url: null, as_token: 'as-bridge', hs_token: 'hs-bridge', sender_localpart: 'bridgebot', rate_limited: false,
  namespaces: { users: [{ regex: '@bridge_.*', exclusive: true }] },
}, 'example.org', 'bridge.yaml');
const open = parseRegistration({
  id: 'open', url: null, as_token: 'as-open', hs_token: 'hs-open', sender_localpart: 'openbot',
  namespaces: { users: [{ regex: '@open_.*', exclusive: false }] },
}, 'example.org', 'open.yaml');

const setup = async (): Promise<{ ctx: TestAccountsContext; accounts: Accounts }> => {
  const ctx = createTestContext({ appservices: [bridge, open] });
  const accounts = createAccounts(ctx);
  await accounts.registerAppserviceSenders();
  return { ctx, accounts };
};

const registerAs = (accounts: Accounts, username: string, accessToken: string | undefined, inhibitLogin = true) =>
  accounts.register({
    kind: 'user', type: 'm.login.application_service', username, inhibitLogin,
    ...(accessToken === undefined ? {} : { accessToken }), request: guarded(undefined, { username }),
  });

describe('application services: authentication', () => {
  it('makes each sender an account, once', async () => {
    const { ctx, accounts } = await setup();
    await accounts.registerAppserviceSenders();
    expect(await ctx.store.getUser('@bridgebot:example.org')).toMatchObject({ passwordHash: null, isGuest: false });
  });

  it('acts as the sender without a device, or as a registered user of the namespace', async () => {
    const { accounts } = await setup();
    expect(await accounts.authenticate('as-bridge')).toEqual({ userId: '@bridgebot:example.org', deviceId: '', isGuest: false, appservice: bridge });
    expect(accounts.whoami(await accounts.authenticate('as-bridge'))).toEqual({ user_id: '@bridgebot:example.org', is_guest: false });
    await registerAs(accounts, 'bridge_ann', 'as-bridge');
    const ann = await accounts.authenticate('as-bridge', {}, { assertion: { userId: '@bridge_ann:example.org' } });
    expect(ann).toMatchObject({ userId: '@bridge_ann:example.org', deviceId: '', appservice: bridge });
  });

  it('refuses users outside the namespace, unregistered, remote, and devices that do not exist', async () => {
    const { accounts } = await setup();
    const as = (userId: string, deviceId?: string) =>
      accounts.authenticate('as-bridge', {}, { assertion: { userId, ...(deviceId === undefined ? {} : { deviceId }) } });
    await expect(as('@alice:example.org')).rejects.toMatchObject({ errcode: 'M_FORBIDDEN', status: 403 });
    await expect(as('@bridge_nobody:example.org')).rejects.toMatchObject({ errcode: 'M_FORBIDDEN', status: 403, message: expect.stringContaining('has not registered') });
    await expect(as('@bridge_ann:other.org')).rejects.toMatchObject({ errcode: 'M_FORBIDDEN', status: 403 });
    await expect(as('@bridgebot:example.org', 'NODEVICE')).rejects.toMatchObject({ errcode: 'M_UNKNOWN_DEVICE', status: 400 });
    // Ids nothing can hold are refused without a look-up.
    for (const deviceId of ['', 'A\u0000B', 'D'.repeat(256)]) {
      await expect(as('@bridgebot:example.org', deviceId)).rejects.toMatchObject({ errcode: 'M_UNKNOWN_DEVICE', status: 400 });
    }
    await expect(as('@bridge_\u0000:example.org')).rejects.toMatchObject({ errcode: 'M_FORBIDDEN', status: 403 });
    await expect(accounts.authenticate('as-unknown')).rejects.toMatchObject({ errcode: 'M_UNKNOWN_TOKEN', status: 401 });
  });

  it('acts as a device of the user once it exists', async () => {
    const { accounts } = await setup();
    const session = await registerAs(accounts, 'bridge_bo', 'as-bridge', false);
    const requester = await accounts.authenticate('as-bridge', {}, { assertion: { userId: session.userId, deviceId: session.deviceId! } });
    expect(accounts.whoami(requester)).toEqual({ user_id: '@bridge_bo:example.org', device_id: session.deviceId, is_guest: false });
  });
});

describe('application services: registration and login', () => {
  it('registers users of the namespace without UIA, even with registration disabled', async () => {
    const ctx = createTestContext({ appservices: [bridge], registration: 'disabled' });
    const accounts = createAccounts(ctx);
    expect(await registerAs(accounts, 'bridge_cy', 'as-bridge')).toEqual({ userId: '@bridge_cy:example.org', homeServer: 'example.org' });
    await expect(registerAs(accounts, 'bridge_cy', 'as-bridge')).rejects.toMatchObject({ errcode: 'M_USER_IN_USE' });
  });

  it('refuses other users and missing or unknown tokens', async () => {
    const { accounts } = await setup();
    await expect(registerAs(accounts, 'someone', 'as-bridge')).rejects.toMatchObject({ errcode: 'M_EXCLUSIVE', status: 400 });
    await expect(registerAs(accounts, 'bridge_x', 'as-open')).rejects.toMatchObject({ errcode: 'M_EXCLUSIVE', status: 400 });
    await expect(registerAs(accounts, 'bridge_x', undefined)).rejects.toMatchObject({ errcode: 'M_MISSING_TOKEN', status: 401 });
    await expect(registerAs(accounts, 'bridge_x', 'nope')).rejects.toMatchObject({ errcode: 'M_UNKNOWN_TOKEN', status: 401 });
  });

  it('closes exclusive namespaces (and senders) to ordinary registration, not the others', async () => {
    const { accounts } = await setup();
    const register = (username: string) => accounts.register({ kind: 'user', username, password: 'pw', inhibitLogin: true, request: guarded({ type: 'm.login.dummy' }) });
    await expect(register('bridge_eve')).rejects.toMatchObject({ errcode: 'M_EXCLUSIVE', status: 400 });
    await expect(accounts.checkUsernameAvailable('bridgebot')).rejects.toMatchObject({ errcode: 'M_EXCLUSIVE' });
    expect(await register('open_eve')).toMatchObject({ userId: '@open_eve:example.org' });
  });

  it('logs in users of the namespace only', async () => {
    const { accounts } = await setup();
    await registerAs(accounts, 'bridge_di', 'as-bridge');
    const login = (user: string, token: string | undefined) =>
      accounts.login({ type: 'm.login.application_service', identifier: { type: 'm.id.user', user } }, token);
    expect(await login('bridge_di', 'as-bridge')).toMatchObject({ userId: '@bridge_di:example.org' });
    await expect(login('open_di', 'as-bridge')).rejects.toMatchObject({ errcode: 'M_EXCLUSIVE', status: 403 });
    await expect(login('bridge_nobody', 'as-bridge')).rejects.toMatchObject({ errcode: 'M_FORBIDDEN', status: 403 });
    await expect(login('bridge_di', undefined)).rejects.toMatchObject({ errcode: 'M_MISSING_TOKEN', status: 401 });
    await expect(accounts.login({ type: 'm.login.application_service', user: 'bridge_di' }, 'as-bridge')).rejects.toMatchObject({ errcode: 'M_MISSING_PARAM' });
  });
});

describe('application services: devices', () => {
  it('creates devices for its users and deletes them without UIA', async () => {
    const { ctx, accounts } = await setup();
    const bot = await accounts.authenticate('as-bridge');
    expect(await accounts.renameDevice(bot, 'BOTDEV', 'Bot')).toEqual({ created: true });
    expect(await accounts.renameDevice(bot, 'BOTDEV', 'Bot 2')).toEqual({ created: false });
    expect((await ctx.store.getDevice(bot.userId, 'BOTDEV'))?.displayName).toBe('Bot 2');
    await accounts.deleteDevices(bot, ['BOTDEV'], guarded());
    expect(await ctx.store.getDevice(bot.userId, 'BOTDEV')).toBeUndefined();
  });
});
