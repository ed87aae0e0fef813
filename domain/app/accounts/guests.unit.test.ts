import { describe, expect, it } from 'vitest';
import { createTestContext } from '../../../test/builders/index.ts';
import { createAuthenticator } from './login.ts';
import { guestToUpgrade, isGuestLocalpart, registerGuest, upgradeGuest } from './guests.ts';

describe('guest accounts', () => {
  it('refuses guests while allow_guest_access is off', async () => {
    await expect(registerGuest(createTestContext(), undefined)).rejects.toMatchObject({ errcode: 'M_GUEST_ACCESS_FORBIDDEN', status: 403 });
  });

  it('registers guests with sequential numeric localparts, their localpart as display name and no password', async () => {
    const ctx = createTestContext({ allowGuestAccess: true });
    const first = await registerGuest(ctx, 'Kiosk');
    const second = await registerGuest(ctx, undefined);
    expect([first.userId, second.userId]).toEqual(['@1:example.org', '@2:example.org']);
    expect(await ctx.store.getUser(first.userId)).toMatchObject({ isGuest: true, passwordHash: null });
    expect(await ctx.store.getProfile(first.userId)).toEqual({ displayname: '1' });
    expect(await ctx.store.getDevice(first.userId, first.deviceId)).toMatchObject({ displayName: 'Kiosk' });
    expect(first.refreshToken).toBeUndefined();
    expect(await createAuthenticator(ctx).authenticate(first.accessToken)).toMatchObject({ userId: first.userId, isGuest: true });
  });

  it('skips a numeric localpart someone already holds', async () => {
    const ctx = createTestContext({ allowGuestAccess: true });
    await ctx.store.createUser({ userId: '@1:example.org', passwordHash: 'x', isGuest: false, isAdmin: true, createdTs: 0, profile: {} });
    expect((await registerGuest(ctx, undefined)).userId).toBe('@2:example.org');
  });

  it('upgrades only the guest its token belongs to, under its own localpart', async () => {
    const ctx = createTestContext({ allowGuestAccess: true });
    const guest = await registerGuest(ctx, undefined);
    const other = await registerGuest(ctx, undefined);
    expect(await guestToUpgrade(ctx, guest.accessToken, undefined)).toBe(guest.userId);
    expect(await guestToUpgrade(ctx, guest.accessToken, '1')).toBe(guest.userId);
    await expect(guestToUpgrade(ctx, guest.accessToken, '2')).rejects.toMatchObject({ errcode: 'M_FORBIDDEN', status: 403 });
    await expect(guestToUpgrade(ctx, 'not a token', undefined)).rejects.toMatchObject({ errcode: 'M_FORBIDDEN' });
    await upgradeGuest(ctx, guest.userId, 'new password');
    expect(await ctx.store.getUser(guest.userId)).toMatchObject({ isGuest: false, passwordHash: expect.any(String) });
    // Its guest token went with the guest; the other guest is untouched.
    await expect(guestToUpgrade(ctx, guest.accessToken, undefined)).rejects.toMatchObject({ errcode: 'M_FORBIDDEN' });
    await expect(upgradeGuest(ctx, guest.userId, 'again')).rejects.toMatchObject({ errcode: 'M_FORBIDDEN' });
    expect(await guestToUpgrade(ctx, other.accessToken, undefined)).toBe(other.userId);
  });

  it('reserves numeric localparts for guests', () => {
    expect(isGuestLocalpart('123')).toBe(true);
    expect(['alice', '12a', ''].map(isGuestLocalpart)).toEqual([false, false, false]);
  });
});
