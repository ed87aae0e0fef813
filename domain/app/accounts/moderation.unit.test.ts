import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../../json.ts';
import { createAccounts } from './accounts.ts';
import { withSuspensionGuard, type SuspensionGuardedWriter } from './suspension.ts';
import { createTestContext } from '../../../test/builders/index.ts';

const ALICE = '@alice:example.org';
const BOB = '@bob:example.org';
const ROOT = '@root:example.org';

const setup = async () => {
  const ctx = createTestContext();
  const accounts = createAccounts(ctx);
  for (const [userId, isAdmin] of [[ALICE, false], [BOB, false], [ROOT, true]] as const) {
    await ctx.store.createUser({ userId, passwordHash: 'plain$pw', isGuest: false, isAdmin, createdTs: 0, profile: { displayname: 'x' } });
  }
  const login = async (user: string, refresh = false) =>
    accounts.login({ type: 'm.login.password', user, password: 'pw', ...(refresh ? { refresh_token: true } : {}) });
  const root = await accounts.authenticate((await login('root')).accessToken);
  return { ctx, accounts, login, root };
};

describe('account locking', () => {
  it('refuses a locked account every token use but logout, login and refresh, until unlocked', async () => {
    const { accounts, login, root } = await setup();
    const session = await login('alice');
    const refreshable = await login('alice', true);
    expect(await accounts.setModeration(root, 'lock', ALICE, { locked: true })).toEqual({ locked: true });
    const locked = { errcode: 'M_USER_LOCKED', status: 401, extra: { soft_logout: true } };
    await expect(accounts.authenticate(session.accessToken)).rejects.toMatchObject(locked);
    await expect(login('alice')).rejects.toMatchObject(locked);
    await expect(accounts.refresh(refreshable.refreshToken!)).rejects.toMatchObject(locked);
    // A wrong password still says only that (the lock is not revealed without the password).
    await expect(accounts.login({ type: 'm.login.password', user: 'alice', password: 'no' })).rejects.toMatchObject({ errcode: 'M_FORBIDDEN' });
    expect(await accounts.authenticate(session.accessToken, undefined, { allowLocked: true })).toMatchObject({ userId: ALICE });
    await accounts.setModeration(root, 'lock', ALICE, { locked: false });
    expect(await accounts.authenticate(session.accessToken)).toMatchObject({ userId: ALICE });
    // The refresh refused while locked left the refresh token usable.
    expect(await accounts.refresh(refreshable.refreshToken!)).toMatchObject({ access_token: expect.any(String) });
  });
});

describe('moderation endpoints', () => {
  it('checks the requester, the server, the account and the target in that order', async () => {
    const { ctx, accounts, login, root } = await setup();
    const alice = await accounts.authenticate((await login('alice')).accessToken);
    await expect(accounts.moderationStatus(alice, 'lock', '@nobody:example.org')).rejects.toMatchObject({ errcode: 'M_FORBIDDEN', status: 403 });
    await expect(accounts.moderationStatus(root, 'lock', '@bob:elsewhere.org')).rejects.toMatchObject({ errcode: 'M_INVALID_PARAM', status: 400 });
    await expect(accounts.moderationStatus(root, 'lock', 'bob')).rejects.toMatchObject({ errcode: 'M_INVALID_PARAM', status: 400 });
    await expect(accounts.moderationStatus(root, 'suspend', '@nobody:example.org')).rejects.toMatchObject({ errcode: 'M_NOT_FOUND', status: 404 });
    await ctx.store.deactivateUser(BOB);
    await expect(accounts.moderationStatus(root, 'suspend', BOB)).rejects.toMatchObject({ errcode: 'M_NOT_FOUND' });
    await expect(accounts.setModeration(root, 'suspend', ROOT, { suspended: true })).rejects.toMatchObject({ errcode: 'M_FORBIDDEN' });
    expect(await accounts.moderationStatus(root, 'suspend', ROOT)).toEqual({ suspended: false });
    await expect(accounts.setModeration(root, 'suspend', ALICE, {})).rejects.toMatchObject({ errcode: 'M_MISSING_PARAM' });
    await expect(accounts.setModeration(root, 'lock', ALICE, { locked: 1 })).rejects.toMatchObject({ errcode: 'M_INVALID_PARAM' });
    expect(await accounts.setModeration(root, 'suspend', ALICE, { suspended: true })).toEqual({ suspended: true });
    expect(await accounts.moderationStatus(root, 'suspend', ALICE)).toEqual({ suspended: true });
    expect(await accounts.moderationStatus(root, 'lock', ALICE)).toEqual({ locked: false });
    expect(await accounts.isSuspended(ALICE)).toBe(true);
    expect(await accounts.authenticate((await login('alice')).accessToken)).toMatchObject({ userId: ALICE, suspended: true });
    expect(await accounts.isAdmin(ROOT)).toBe(true);
    expect(root).toMatchObject({ isAdmin: true });
  });

  it('answers isSuspended from a short-lived cache that its own changes clear', async () => {
    const { ctx, accounts, root } = await setup();
    expect(await accounts.isSuspended(ALICE)).toBe(false);
    await accounts.setModeration(root, 'suspend', ALICE, { suspended: true });
    expect(await accounts.isSuspended(ALICE)).toBe(true);
    // Another process's change (straight to the store) is seen once the entry expires.
    await ctx.store.setUserSuspended(ALICE, false);
    expect(await accounts.isSuspended(ALICE)).toBe(true);
    ctx.clock.advance(3_000);
    expect(await accounts.isSuspended(ALICE)).toBe(false);
  });

  it('keeps a suspended user from changing their profile', async () => {
    const { accounts, login, root } = await setup();
    const alice = await accounts.authenticate((await login('alice')).accessToken);
    await accounts.setModeration(root, 'suspend', ALICE, { suspended: true });
    const suspended = { errcode: 'M_USER_SUSPENDED', status: 403 };
    await expect(accounts.setProfileField(alice, ALICE, 'displayname', { displayname: 'A' })).rejects.toMatchObject(suspended);
    await expect(accounts.deleteProfileField(alice, ALICE, 'displayname')).rejects.toMatchObject(suspended);
    expect(await accounts.getProfile(ALICE)).toEqual({ displayname: 'x' });
  });
});

describe('the suspension guard on room writes', () => {
  const sent: string[] = [];
  const writer: SuspensionGuardedWriter & { state(): string } = {
    createRoom: async () => sent.push('createRoom'),
    send: async (_roomId, event) => sent.push(`${event.type}:${String(event.content.membership ?? event.redacts ?? '')}`),
    state: () => 'kept',
  };
  const senders: Record<string, string> = { $own: ALICE, $other: BOB };
  const guarded = withSuspensionGuard(writer, {
    isSuspended: async (userId) => userId === ALICE,
    eventSender: async (eventId) => senders[eventId],
  });
  const member = (sender: string, target: string, membership: string) => ({ type: 'm.room.member', stateKey: target, sender, content: { membership } });
  type WriteRequest = { type: string; stateKey?: string; sender: string; content: JsonObject; redacts?: string };
  const attempt = (event: WriteRequest) =>
    guarded.send('!r:example.org', event, {});

  it('lets a suspended user leave, reject invites and redact their own events only', async () => {
    await attempt(member(ALICE, ALICE, 'leave'));
    await attempt({ type: 'm.room.redaction', sender: ALICE, content: {}, redacts: '$own' });
    await attempt({ type: 'm.room.redaction', sender: ALICE, content: { redacts: '$own' } });
    const suspended = { errcode: 'M_USER_SUSPENDED', status: 403 };
    const refused: WriteRequest[] = [
      member(ALICE, ALICE, 'join'), member(ALICE, ALICE, 'knock'), member(ALICE, BOB, 'invite'), member(ALICE, BOB, 'leave'), member(ALICE, BOB, 'ban'),
      { type: 'm.room.message', sender: ALICE, content: { body: 'hi' } },
      { type: 'm.room.topic', stateKey: '', sender: ALICE, content: { topic: 't' } },
      { type: 'm.room.redaction', sender: ALICE, content: {}, redacts: '$other' },
      { type: 'm.room.redaction', sender: ALICE, content: {}, redacts: '$unknown' },
    ];
    for (const event of refused) await expect(attempt(event)).rejects.toMatchObject(suspended);
    await expect(guarded.createRoom({ creator: ALICE })).rejects.toMatchObject(suspended);
    expect(sent).toEqual(['m.room.member:leave', 'm.room.redaction:$own', 'm.room.redaction:']);
  });

  it('passes everyone else through, and keeps the writer\'s other methods', async () => {
    sent.length = 0;
    await attempt({ type: 'm.room.message', sender: BOB, content: { body: 'hi' } });
    await guarded.createRoom({ creator: BOB });
    expect(sent).toEqual(['m.room.message:', 'createRoom']);
    expect(guarded.state()).toBe('kept');
  });
});
