import { describe, expect, it } from 'vitest';
import { httpPushers, isLocalUser, isPushable, pushRecipients } from './index.ts';
import { member, pusher, storedEvent } from '../../../test/builders/index.ts';

describe('pushRecipients (push.md § Receiving notifications: the room\'s local members)', () => {
  it('keeps local joined members other than the sender, once each, sorted', () => {
    const members = [
      member('@carol:strata.test', 'join'), member('@alice:strata.test', 'join'), member('@bob:strata.test', 'join'),
      member('@dave:strata.test', 'invite'), member('@erin:strata.test', 'leave'), member('@remote:other.test', 'join'),
      member('@alice:strata.test', 'join', 3),
    ];
    expect(pushRecipients(members, '@bob:strata.test', 'strata.test')).toEqual(['@alice:strata.test', '@carol:strata.test']);
  });

  it('ignores events that are not memberships', () => {
    expect(pushRecipients([storedEvent('$m', { stateKey: '@alice:strata.test', content: { membership: 'join' } })], '@bob:strata.test', 'strata.test'))
      .toEqual([]);
  });

  it('tells local users by the server name after the first colon', () => {
    expect(isLocalUser('@a:strata.test', 'strata.test')).toBe(true);
    expect(isLocalUser('@a:strata.test:8448', 'strata.test')).toBe(false);
    expect(isLocalUser('@a:strata.test:8448', 'strata.test:8448')).toBe(true);
  });
});

describe('httpPushers', () => {
  it('keeps http pushers with a string url', () => {
    const good = pusher('@a:x', 'k1', { url: 'https://push.example/_matrix/push/v1/notify' });
    expect(httpPushers([good, pusher('@a:x', 'k2', {}), pusher('@a:x', 'k3', { url: 'mailto:a@b' }, 'email'), pusher('@a:x', 'k4', { url: 3 })]))
      .toEqual([good]);
  });
});

describe('isPushable', () => {
  it('passes over redacted events', () => {
    expect(isPushable(storedEvent('$a'))).toBe(true);
    expect(isPushable({ ...storedEvent('$a'), redactedBecause: storedEvent('$r', { type: 'm.room.redaction' }) })).toBe(false);
  });
});
