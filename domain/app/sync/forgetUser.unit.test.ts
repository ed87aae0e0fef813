import { describe, expect, it } from 'vitest';
import { createSyncMemo, forgetUserInMemo } from './memo.ts';

describe('forgetting a user in the /sync memo', () => {
  it("drops every entry of the user's, and nobody else's", () => {
    const memo = createSyncMemo();
    for (const user of ['@a:x', '@ab:x']) {
      memo.quiet.set(`${user}\u0000DEV`, { token: 't', filter: undefined, counter: 1, keys: [], toDeviceEmpty: true, answeredAt: 0 });
      memo.presence.set(user, { presence: 'online', position: 1 });
      memo.ownReceipts.set(`${user}\u0000!r:x`, { position: 1, receipts: new Map() });
      memo.filters.set(`${user}\u00001`, {} as never);
      memo.unread.set(`${user}\u0000!r:x`, {} as never);
    }
    forgetUserInMemo(memo, '@a:x');
    for (const map of [memo.quiet, memo.presence, memo.ownReceipts, memo.filters, memo.unread]) {
      expect([...map.keys()].every((key) => key.startsWith('@ab:x'))).toBe(true);
      expect(map.size).toBe(1);
    }
  });
});
