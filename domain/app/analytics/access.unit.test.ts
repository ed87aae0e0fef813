import { describe, expect, it } from 'vitest';
import type { UserAccount } from '../../ports/accounts.ts';
import { createAnalystAccess } from './access.ts';

const account = (userId: string, extra: Partial<UserAccount> = {}): UserAccount =>
  ({ userId, passwordHash: null, isGuest: false, isAdmin: false, createdTs: 0, ...extra });
const accounts = [account('@admin:a.test', { isAdmin: true }), account('@ana:a.test'), account('@user:a.test'), account('@gone:a.test', { deactivated: true })];
const access = createAnalystAccess({
  users: { getUser: async (id) => accounts.find((a) => a.userId === id) },
  analysts: ['@ana:a.test', '@gone:a.test', '@never:a.test'],
});

describe('analyst access', () => {
  it('admits admins and named analysts who exist and are active', async () => {
    expect(await access.isAnalyst('@admin:a.test')).toBe(true);
    expect(await access.isAnalyst('@ana:a.test')).toBe(true);
    await expect(access.requireAnalyst('@ana:a.test')).resolves.toBeUndefined();
  });

  it('refuses everyone else with 403 M_FORBIDDEN', async () => {
    for (const who of ['@user:a.test', '@gone:a.test', '@never:a.test']) {
      expect(await access.isAnalyst(who)).toBe(false);
      await expect(access.requireAnalyst(who)).rejects.toMatchObject({ errcode: 'M_FORBIDDEN', status: 403 });
    }
  });
});
