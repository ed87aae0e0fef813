import { describe, expect, it } from 'vitest';
import { MatrixError } from '../../errors.ts';
import type { LocalEventRequest } from '../../room/index.ts';
import { hiddenByIgnoring, withoutIgnored } from './ignoring.ts';
import { screenInvitees, withInvitePermission } from './invitePermission.ts';
import { accountDataPreferences, blocksInvitesIn, ignoredUsersIn } from './preferences.ts';
import type { RoomWriter } from './roomWriter.ts';

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

describe('withInvitePermission', () => {
  const sent: LocalEventRequest[] = [];
  const writer: RoomWriter = {
    createRoom: async () => ({ roomId: '!r:hs', eventIds: [] }),
    send: async (_roomId, event) => {
      sent.push(event);
      return { eventId: '$e', deduplicated: false };
    },
    state: async () => undefined,
    authorize: async () => undefined,
  };
  const guarded = withInvitePermission(writer, { blocksInvites: async (userId) => userId === '@alice:hs' });
  const invite = (target: string): LocalEventRequest => ({ type: 'm.room.member', stateKey: target, sender: '@bob:hs', content: { membership: 'invite' } });
  const local = { userId: '@bob:hs', deviceId: 'D', txnId: null };

  it('refuses an invite to a user who blocks invites with 403 M_INVITE_BLOCKED', async () => {
    const refusal = await guarded.send('!r:hs', invite('@alice:hs'), local).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(MatrixError);
    expect(refusal).toMatchObject({ errcode: 'M_INVITE_BLOCKED', status: 403 });
    await guarded.send('!r:hs', invite('@carol:hs'), local);
    await guarded.send('!r:hs', { type: 'm.room.member', stateKey: '@alice:hs', sender: '@alice:hs', content: { membership: 'join' } }, local);
    expect(sent.map((event) => event.stateKey)).toEqual(['@carol:hs', '@alice:hs']);
  });

  it('splits a createRoom invite list into invitees and users who block invites', async () => {
    const preferences = { blocksInvites: async (userId: string) => userId === '@alice:hs' };
    expect(await screenInvitees(preferences, ['@carol:hs', '@alice:hs', '@dave:hs']))
      .toEqual({ invitees: ['@carol:hs', '@dave:hs'], blocked: ['@alice:hs'] });
    expect(await screenInvitees(undefined, ['@alice:hs'])).toEqual({ invitees: ['@alice:hs'], blocked: [] });
  });
});
