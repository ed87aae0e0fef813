// Password change, devices and profiles: the use-cases behind an access token.
import { describe, expect, it, vi } from 'vitest';
import type { ProfileFields } from '../../ports/accounts.ts';
import { createAccounts, type Accounts } from './accounts.ts';
import type { AccountsContext, Requester } from './context.ts';
import { createTestContext, guarded, type TestAccountsContext } from '../../../test/builders/index.ts';
import { UiaChallenge } from './uia.ts';

const setup = async (overrides: Partial<AccountsContext> = {}) => {
  const ctx: TestAccountsContext = createTestContext(overrides);
  const accounts: Accounts = createAccounts(ctx);
  await accounts.register({ kind: 'user', username: 'alice', password: 'pw', inhibitLogin: true, request: guarded({ type: 'm.login.dummy' }) });
  await accounts.register({ kind: 'user', username: 'bob', password: 'pw', inhibitLogin: true, request: guarded({ type: 'm.login.dummy' }) });
  const login = async (device: string): Promise<Requester> => {
    const { accessToken } = await accounts.login({ type: 'm.login.password', user: 'alice', password: 'pw', device_id: device });
    return accounts.authenticate(accessToken);
  };
  return { ctx, accounts, login };
};

const sessionOf = async (promise: Promise<unknown>): Promise<string> => {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(UiaChallenge);
  return (error as UiaChallenge).body.session as string;
};

const passwordAuth = (session: string, password = 'pw') => ({
  type: 'm.login.password',
  session,
  identifier: { type: 'm.id.user', user: 'alice' },
  password,
});

describe('change password', () => {
  it('needs the current password, then logs out the other devices only', async () => {
    const { accounts, login } = await setup();
    const phone = await login('PHONE');
    const laptop = await login('LAPTOP');
    const command = { newPassword: 'new', logoutDevices: true };
    const session = await sessionOf(accounts.changePassword(phone, { ...command, request: guarded() }));
    await accounts.changePassword(phone, { ...command, request: guarded(passwordAuth(session)) });
    await expect(accounts.authenticate(phone.accessToken as string)).resolves.toMatchObject({ deviceId: 'PHONE' });
    await expect(accounts.authenticate(laptop.accessToken as string)).rejects.toMatchObject({ errcode: 'M_UNKNOWN_TOKEN' });
    await expect(accounts.login({ type: 'm.login.password', user: 'alice', password: 'pw' })).rejects.toMatchObject({ errcode: 'M_FORBIDDEN' });
    await expect(accounts.login({ type: 'm.login.password', user: 'alice', password: 'new' })).resolves.toMatchObject({
      userId: '@alice:example.org',
    });
  });

  it('keeps other devices with logout_devices false', async () => {
    const { accounts, login } = await setup();
    const phone = await login('PHONE');
    const laptop = await login('LAPTOP');
    const command = { newPassword: 'new', logoutDevices: false };
    const session = await sessionOf(accounts.changePassword(phone, { ...command, request: guarded() }));
    await accounts.changePassword(phone, { ...command, request: guarded(passwordAuth(session)) });
    await expect(accounts.authenticate(laptop.accessToken as string)).resolves.toMatchObject({ deviceId: 'LAPTOP' });
  });
});

describe('devices', () => {
  it('lists, gets and renames the caller’s devices; unknown ones are M_NOT_FOUND', async () => {
    const { accounts, login } = await setup();
    const phone = await login('PHONE');
    await login('LAPTOP');
    expect((await accounts.listDevices(phone)).map((d) => d.device_id)).toEqual(['LAPTOP', 'PHONE']);
    await accounts.renameDevice(phone, 'LAPTOP', 'Work laptop');
    expect(await accounts.getDevice(phone, 'LAPTOP')).toMatchObject({ device_id: 'LAPTOP', display_name: 'Work laptop' });
    await expect(accounts.getDevice(phone, 'NOPE')).rejects.toMatchObject({ errcode: 'M_NOT_FOUND', status: 404 });
    await expect(accounts.renameDevice(phone, 'NOPE', 'x')).rejects.toMatchObject({ errcode: 'M_NOT_FOUND', status: 404 });
  });

  it('deletes devices behind UIA and revokes their tokens', async () => {
    const { accounts, login } = await setup();
    const phone = await login('PHONE');
    const laptop = await login('LAPTOP');
    const tablet = await login('TABLET');
    const session = await sessionOf(accounts.deleteDevices(phone, ['LAPTOP', 'TABLET'], guarded(undefined, { devices: ['LAPTOP', 'TABLET'] })));
    // The session was begun for these devices; it cannot be spent on another set.
    await expect(accounts.deleteDevices(phone, ['PHONE'], guarded(passwordAuth(session), { devices: ['PHONE'] })))
      .rejects.toMatchObject({ status: 401, body: { errcode: 'M_UNKNOWN' } });
    await accounts.deleteDevices(phone, ['LAPTOP', 'TABLET'], guarded(passwordAuth(session), { devices: ['LAPTOP', 'TABLET'] }));
    expect((await accounts.listDevices(phone)).map((d) => d.device_id)).toEqual(['PHONE']);
    for (const gone of [laptop, tablet]) {
      await expect(accounts.authenticate(gone.accessToken as string)).rejects.toMatchObject({ errcode: 'M_UNKNOWN_TOKEN' });
    }
  });
});

describe('profiles', () => {
  it('reads the whole profile and single fields; unknown users and unset custom fields are M_NOT_FOUND', async () => {
    const { accounts } = await setup();
    expect(await accounts.getProfile('@alice:example.org')).toEqual({ displayname: 'alice' });
    expect(await accounts.getProfileField('@alice:example.org', 'displayname')).toEqual({ displayname: 'alice' });
    await expect(accounts.getProfile('@nobody:example.org')).rejects.toMatchObject({ errcode: 'M_NOT_FOUND', status: 404 });
    // A known user without an avatar: no field, no error (Synapse); an unset custom field is 404.
    expect(await accounts.getProfileField('@alice:example.org', 'avatar_url')).toEqual({});
    await expect(accounts.getProfileField('@alice:example.org', 'org.example.job')).rejects.toMatchObject({ errcode: 'M_NOT_FOUND' });
    await expect(accounts.getProfileField('@nobody:example.org', 'avatar_url')).rejects.toMatchObject({ errcode: 'M_NOT_FOUND' });
  });

  it('sets and deletes fields and tells the hook when a member-event field changes', async () => {
    const onProfileChanged = vi.fn<(userId: string, profile: ProfileFields) => void>();
    const { accounts, login } = await setup({ onProfileChanged });
    const alice = await login('PHONE');
    await accounts.setProfileField(alice, '@alice:example.org', 'displayname', { displayname: 'Alice' });
    await accounts.setProfileField(alice, '@alice:example.org', 'avatar_url', { avatar_url: 'mxc://example.org/abc' });
    await accounts.setProfileField(alice, '@alice:example.org', 'org.example.pronouns', { 'org.example.pronouns': ['she'] });
    expect(await accounts.getProfile('@alice:example.org')).toEqual({
      displayname: 'Alice',
      avatar_url: 'mxc://example.org/abc',
      'org.example.pronouns': ['she'],
    });
    await accounts.deleteProfileField(alice, '@alice:example.org', 'org.example.pronouns');
    // Custom fields never reach member events, so they do not wake the rooms layer.
    expect(onProfileChanged).toHaveBeenCalledTimes(2);
    expect(onProfileChanged).toHaveBeenLastCalledWith('@alice:example.org', { displayname: 'Alice', avatar_url: 'mxc://example.org/abc' });
    await accounts.deleteProfileField(alice, '@alice:example.org', 'avatar_url');
    expect(onProfileChanged).toHaveBeenLastCalledWith('@alice:example.org', { displayname: 'Alice' });
  });

  it('refuses changes to another user, bad keys, bad values and oversized profiles', async () => {
    const { accounts, login } = await setup();
    const alice = await login('PHONE');
    const set = (userId: string, key: string, body: Record<string, unknown>) =>
      accounts.setProfileField(alice, userId, key, body as never);
    await expect(set('@bob:example.org', 'displayname', { displayname: 'x' })).rejects.toMatchObject({ errcode: 'M_FORBIDDEN', status: 403 });
    await expect(set('@alice:example.org', 'Bad Key', { 'Bad Key': 1 })).rejects.toMatchObject({ errcode: 'M_INVALID_PARAM' });
    await expect(set('@alice:example.org', `a.${'b'.repeat(260)}`, {})).rejects.toMatchObject({ errcode: 'M_KEY_TOO_LARGE' });
    await expect(set('@alice:example.org', 'displayname', {})).rejects.toMatchObject({ errcode: 'M_MISSING_PARAM' });
    await expect(set('@alice:example.org', 'displayname', { displayname: 5 })).rejects.toMatchObject({ errcode: 'M_INVALID_PARAM' });
    await expect(set('@alice:example.org', 'org.example.big', { 'org.example.big': 'x'.repeat(70_000) })).rejects.toMatchObject({
      errcode: 'M_PROFILE_TOO_LARGE',
    });
  });
});

describe('onDevicesDeleted', () => {
  it('hears of every device that goes: delete, logout, password change, logout/all', async () => {
    const deleted: string[][] = [];
    const { accounts, login } = await setup({ onDevicesDeleted: (_userId, ids) => void deleted.push([...ids].sort()) });
    const phone = await login('PHONE');
    const laptop = await login('LAPTOP');
    await login('TABLET');
    await login('WATCH');

    const session = await sessionOf(accounts.deleteDevices(phone, ['TABLET', 'NOPE'], guarded()));
    await accounts.deleteDevices(phone, ['TABLET', 'NOPE'], guarded(passwordAuth(session)));
    expect(deleted).toEqual([['TABLET']]);
    await accounts.logout(laptop);
    expect(deleted.at(-1)).toEqual(['LAPTOP']);

    const change = await sessionOf(accounts.changePassword(phone, { newPassword: 'new', logoutDevices: true, request: guarded() }));
    await accounts.changePassword(phone, { newPassword: 'new', logoutDevices: true, request: guarded(passwordAuth(change)) });
    expect(deleted.at(-1)).toEqual(['WATCH']);
    await accounts.logoutAll(phone);
    expect(deleted.at(-1)).toEqual(['PHONE']);
    expect(deleted).toHaveLength(4);
  });
});
