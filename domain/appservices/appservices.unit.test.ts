import { describe, expect, it } from 'vitest';
import {
  exclusiveAliasOwner, exclusiveUserOwner, isInterestedInEvent, isInterestedInRoom, parseRegistration, RegistrationProblem,
} from './index.ts';

const raw = {
  id: 'irc', url: 'http://127.0.0.1:9999/', as_token: 'as', hs_token: 'hs', sender_localpart: 'ircbot',
  namespaces: {
    users: [{ regex: '@irc_', exclusive: true }, { regex: '@shared_.*:example\\.org', exclusive: false }],
    aliases: [{ regex: '#irc_.*', exclusive: true }],
    rooms: [{ regex: '!bridged:example\\.org', exclusive: false }],
  },
  'de.sorunome.msc2409.push_ephemeral': true,
};
const irc = parseRegistration(raw, 'example.org', 'irc.yaml');
const problemOf = (value: unknown): string => {
  try {
    parseRegistration(value, 'example.org', 'irc.yaml');
  } catch (error) {
    expect(error).toBeInstanceOf(RegistrationProblem);
    return (error as RegistrationProblem).field;
  }
  throw new Error('expected a problem');
};

describe('application service registrations', () => {
  it('reads Synapse\'s format with its defaults and unstable names', () => {
    expect(irc).toMatchObject({ url: 'http://127.0.0.1:9999', sender: '@ircbot:example.org', rateLimited: true, receiveEphemeral: true, msc3202: false, protocols: [] });
    expect(parseRegistration({ ...raw, url: null }, 'example.org', 'irc.yaml').url).toBeNull();
  });

  it('names the field of every problem', () => {
    expect(problemOf([])).toBe('(file)');
    expect(problemOf({ ...raw, id: '' })).toBe('id');
    expect(problemOf({ ...raw, url: 'ftp://x' })).toBe('url');
    expect(problemOf({ ...raw, as_token: 'a b' })).toBe('as_token');
    expect(problemOf({ ...raw, sender_localpart: 'Bot' })).toBe('sender_localpart');
    expect(problemOf({ ...raw, namespaces: { users: [{ regex: '@a' }] } })).toBe('namespaces.users[0].exclusive');
    expect(problemOf({ ...raw, namespaces: { rooms: {} } })).toBe('namespaces.rooms');
    expect(problemOf({ ...raw, rate_limited: 'no' })).toBe('rate_limited');
    expect(problemOf({ ...raw, protocols: [1] })).toBe('protocols');
  });

  it('matches namespaces from the start of the id, as Python\'s re.match', () => {
    expect(exclusiveUserOwner([irc], '@irc_bob:example.org')?.id).toBe('irc');
    expect(exclusiveUserOwner([irc], '@bob_irc_:example.org')).toBeUndefined();
    expect(exclusiveUserOwner([irc], '@ircbot:example.org')?.id).toBe('irc');
    expect(exclusiveUserOwner([irc], '@shared_a:example.org')).toBeUndefined();
    expect(exclusiveAliasOwner([irc], '#irc_chan:example.org')?.id).toBe('irc');
  });

  it('is interested in its users\' events, rooms they are in, its rooms and aliases', () => {
    const room = { roomId: '!r:example.org', aliases: [] as string[], localMembers: ['@alice:example.org'] };
    const message = { type: 'm.room.message', sender: '@alice:example.org', stateKey: null };
    expect(isInterestedInEvent(irc, message, room)).toBe(false);
    expect(isInterestedInEvent(irc, { ...message, sender: '@irc_bob:example.org' }, room)).toBe(true);
    expect(isInterestedInEvent(irc, { type: 'm.room.member', sender: '@alice:example.org', stateKey: '@irc_bob:example.org' }, room)).toBe(true);
    expect(isInterestedInRoom(irc, { ...room, localMembers: ['@alice:example.org', '@shared_x:example.org'] })).toBe(true);
    expect(isInterestedInRoom(irc, { ...room, aliases: ['#irc_chan:example.org'] })).toBe(true);
    expect(isInterestedInRoom(irc, { ...room, roomId: '!bridged:example.org' })).toBe(true);
  });
});
