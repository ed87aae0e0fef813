import { describe, expect, it } from 'vitest';
import { hiddenByIgnoring, withoutIgnored } from './ignoring.ts';
import { screenInvitees } from './invitePermission.ts';
import { accountDataPreferences, blocksInvitesIn, ignoredUsersIn } from './preferences.ts';

describe('user preferences from account data', () => {
  it('reads m.ignored_user_list keys and only default_action "block"', async () => {
    expect([...ignoredUsersIn({ ignored_users: { '@bob:hs': {}, '@eve:hs': {} } })]).toEqual(['@bob:hs', '@eve:hs']);
    expect(ignoredUsersIn({ ignored_users: ['@bob:hs'] }).size).toBe(0);
    expect(ignoredUsersIn(undefined).size).toBe(0);
    expect(blocksInvitesIn({ default_action: 'block' })).toBe(true);
    expect(blocksInvitesIn({ default_action: 'allow' })).toBe(false);
    expect(blocksInvitesIn({})).toBe(false);
    const port = accountDataPreferences(async (userId, type) => (userId === '@alice:hs' && type === 'm.invite_permission_config' ? { default_action: 'block' } : undefined));
    expect(await port.blocksInvites('@alice:hs')).toBe(true);
    expect(await port.blocksInvites('@bob:hs')).toBe(false);
    expect((await port.ignoredUsers('@alice:hs')).size).toBe(0);
  });
});

describe('ignoring', () => {
  it('hides non-state events of ignored senders only', () => {
    const ignored = new Set(['@bob:hs']);
    const events = [
      { sender: '@bob:hs', stateKey: null }, { sender: '@bob:hs', stateKey: '@bob:hs' }, { sender: '@carol:hs', stateKey: null },
    ];
    expect(hiddenByIgnoring(events[0]!, ignored)).toBe(true);
    expect(withoutIgnored(events, ignored)).toEqual(events.slice(1));
    expect(withoutIgnored(events, new Set())).toEqual(events);
  });
});

describe('invite permission', () => {
  it('splits a createRoom invite list into invitees and users who block invites', async () => {
    const preferences = { blocksInvites: async (userId: string) => userId === '@alice:hs' };
    expect(await screenInvitees(preferences, ['@carol:hs', '@alice:hs', '@dave:hs']))
      .toEqual({ invitees: ['@carol:hs', '@dave:hs'], blocked: ['@alice:hs'] });
    expect(await screenInvitees(undefined, ['@alice:hs'])).toEqual({ invitees: ['@alice:hs'], blocked: [] });
  });
});
