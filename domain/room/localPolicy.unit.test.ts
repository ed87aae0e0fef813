/**
 * What the decider refuses to create beyond the auth rules (localPolicy.ts) and the membership
 * preconditions of LocalEventRequest, for every room version.
 */
import { describe, expect, it } from 'vitest';
import { signingKeyFromSeed, stateKeyOf } from '../events/index.ts';
import type { JsonObject } from '../json.ts';
import { ROOM_VERSIONS, type RoomVersionRules } from '../roomVersions/index.ts';
import { NO_LOOKUPS, type Decision, type LocalEventRequest, type RoomCommand, type RoomLookups } from './commands.ts';
import { decide, evolve, initialState } from './decider.ts';
import type { RoomState } from './state.ts';

const key = signingKeyFromSeed('a.test', 'ed25519:1', new Uint8Array(32).fill(1));
const ALICE = '@alice:a.test';
const BOB = '@bob:a.test';
const local = { userId: ALICE, deviceId: 'DEV', txnId: null };

const createCommand = (rules: RoomVersionRules, events: LocalEventRequest[], claimedAliases?: string[]): RoomCommand => ({
  type: 'createRoom',
  ...(rules.eventFormat.roomIdIsCreateEventHash ? {} : { roomId: '!room:a.test' }),
  createContent: (rules.auth.creatorIsCreateSender ? { room_version: rules.id } : { room_version: rules.id, creator: ALICE }) as JsonObject,
  creator: ALICE,
  events: [
    { type: 'm.room.member', stateKey: ALICE, sender: ALICE, content: { membership: 'join' } },
    { type: 'm.room.power_levels', stateKey: '', sender: ALICE, content: {
      users: rules.auth.privilegedCreators ? {} : { [ALICE]: 100 }, state_default: 0, events_default: 0, kick: 50, ban: 50, redact: 50, invite: 0,
    } },
    { type: 'm.room.join_rules', stateKey: '', sender: ALICE, content: { join_rule: 'public' } },
    ...events,
  ],
  ...(claimedAliases === undefined ? {} : { claimedAliases }),
  signingKey: key,
  local,
  now: 1_700_000_000_000,
});

const fold = (state: RoomState, decision: Decision): RoomState => {
  if (decision.outcome !== 'records') throw new Error(`expected records, got ${JSON.stringify(decision)}`);
  return decision.records.reduce(evolve, state);
};

const send = (state: RoomState, event: LocalEventRequest, lookups: RoomLookups = NO_LOOKUPS): Decision =>
  decide({ type: 'sendLocal', event, signingKey: key, local, now: 1_700_000_100_000 }, state, lookups);

const state = (type: string, content: JsonObject, sender = ALICE, stateKey = ''): LocalEventRequest => ({ type, stateKey, sender, content });

describe.each([...ROOM_VERSIONS.values()])('local policy, room version $id', (rules) => {
  const room = (): RoomState => {
    let current = fold(initialState, decide(createCommand(rules, []), initialState, NO_LOOKUPS));
    current = fold(current, send(current, state('m.room.member', { membership: 'join' }, BOB, BOB)));
    return current;
  };

  it('keeps one m.room.create, through sendLocal and through createRoom', () => {
    const current = room();
    expect(send(current, state('m.room.create', { room_version: rules.id }))).toMatchObject({ outcome: 'refused', error: { errcode: 'M_FORBIDDEN' } });
    const twice = decide(createCommand(rules, [state('m.room.create', { room_version: rules.id })]), initialState, NO_LOOKUPS);
    expect(twice).toMatchObject({ outcome: 'refused', error: { errcode: 'M_INVALID_ROOM_STATE' } });
  });

  it('refuses a server ACL that denies this server, and a tombstone pointing at its own room', () => {
    const current = room();
    for (const acl of [{}, { allow: [] }, { allow: ['*'], deny: ['a.test'] }, { allow: ['b.test'] }, { allow: ['*'], deny: ['*.test'] }] as JsonObject[]) {
      expect(send(current, state('m.room.server_acl', acl, BOB))).toMatchObject({ outcome: 'refused', error: { errcode: 'M_INVALID_PARAM' } });
    }
    expect(send(current, state('m.room.server_acl', { allow: ['*'], deny: ['evil.test'] }, BOB)).outcome).toBe('records');
    expect(send(current, state('m.room.tombstone', { replacement_room: current.roomId! }))).toMatchObject({ outcome: 'refused', error: { errcode: 'M_BAD_JSON' } });
    expect(send(current, state('m.room.tombstone', { body: 'no replacement' }))).toMatchObject({ outcome: 'refused', error: { errcode: 'M_BAD_JSON' } });
    expect(send(current, state('m.room.tombstone', { replacement_room: '!next:a.test' })).outcome).toBe('records');
  });

  it('lets a canonical alias name only this server’s aliases that point here (or are claimed), any remote one, and what it already listed', () => {
    let current = room();
    const pointsHere: RoomLookups = { ...NO_LOOKUPS, aliasRoom: (alias) => (alias === '#here:a.test' ? current.roomId! : '!other:a.test') };
    expect(send(current, state('m.room.canonical_alias', { alias: '#nowhere:a.test' }, BOB))).toMatchObject({ outcome: 'refused', error: { errcode: 'M_BAD_ALIAS' } });
    expect(send(current, state('m.room.canonical_alias', { alias: '#there:a.test' }, BOB), pointsHere)).toMatchObject({ outcome: 'refused', error: { errcode: 'M_BAD_ALIAS' } });
    expect(send(current, state('m.room.canonical_alias', { alt_aliases: ['not an alias'] }, BOB))).toMatchObject({ outcome: 'refused', error: { errcode: 'M_INVALID_PARAM' } });
    const accepted = send(current, state('m.room.canonical_alias', { alias: '#here:a.test', alt_aliases: ['#far:b.test'] }, BOB), pointsHere);
    expect(accepted.outcome).toBe('records');
    current = fold(current, accepted);
    // Already listed: kept even once the directory no longer says so.
    expect(send(current, state('m.room.canonical_alias', { alias: '#here:a.test' }, BOB)).outcome).toBe('records');
    const claimed = decide(createCommand(rules, [state('m.room.canonical_alias', { alias: '#new:a.test' })], ['#new:a.test']), initialState, NO_LOOKUPS);
    expect(claimed.outcome).toBe('records');
    const unclaimed = decide(createCommand(rules, [state('m.room.canonical_alias', { alias: '#new:a.test' })]), initialState, NO_LOOKUPS);
    expect(unclaimed).toMatchObject({ outcome: 'refused', error: { errcode: 'M_BAD_ALIAS' } });
  });

  it('refuses an invite to a user whose invite permission blocks invites (M_INVITE_BLOCKED)', () => {
    const current = room();
    const invite = (target: string) => state('m.room.member', { membership: 'invite' }, ALICE, target);
    const blocking: RoomLookups = { ...NO_LOOKUPS, blocksInvites: (userId) => userId === '@carol:a.test' };
    expect(send(current, invite('@carol:a.test'), blocking)).toMatchObject({ outcome: 'refused', error: { errcode: 'M_INVITE_BLOCKED' } });
    expect(send(current, invite('@dave:a.test'), blocking).outcome).toBe('records');
  });

  it("lets a local guest join only while m.room.guest_access is can_join, and marks its join kind guest", () => {
    let current = room();
    const guests: RoomLookups = { ...NO_LOOKUPS, isGuest: (userId) => userId === '@7:a.test' };
    const join = (userId: string) => state('m.room.member', { membership: 'join' }, userId, userId);
    expect(send(current, join('@7:a.test'), guests)).toMatchObject({ outcome: 'refused', error: { errcode: 'M_FORBIDDEN', reason: 'Guest access not allowed' } });
    // Ordinary users are not concerned.
    expect(send(current, join('@dave:a.test'), guests)).toMatchObject({ outcome: 'records', records: [{ pdu: { content: { membership: 'join' } } }] });
    current = fold(current, send(current, state('m.room.guest_access', { guest_access: 'can_join' }), guests));
    expect(send(current, join('@7:a.test'), guests)).toMatchObject({ outcome: 'records', records: [{ pdu: { content: { membership: 'join', kind: 'guest' } } }] });
    current = fold(current, send(current, join('@7:a.test'), guests));
    // A guest only joins and leaves: no invite, kick or ban, even where its power level would allow it.
    expect(send(current, state('m.room.member', { membership: 'invite' }, '@7:a.test', '@dave:a.test'), guests))
      .toMatchObject({ outcome: 'refused', error: { errcode: 'M_FORBIDDEN', reason: 'Guests may only join and leave rooms' } });
    expect(send(current, state('m.room.member', { membership: 'invite' }, '@7:a.test', '@dave:a.test')).outcome).toBe('records');
    expect(send(current, state('m.room.member', { membership: 'leave' }, '@7:a.test', '@7:a.test'), guests).outcome).toBe('records');
  });

  it('writes power levels as integers only, in every room version', () => {
    const current = room();
    const levels = (extra: JsonObject) => state('m.room.power_levels', {
      users: rules.auth.privilegedCreators ? {} : { [ALICE]: 100 }, state_default: 0, events_default: 0, kick: 50, ban: 50, redact: 50, invite: 0, ...extra,
    });
    for (const bad of [{ ban: '50' }, { users_default: 1.5 }, { events: { 'm.room.name': '50' } }, { notifications: [] }] as JsonObject[]) {
      // Refused by the auth rules where they require integers (since v10), by canonical JSON
      // (floats, since v6) or by this server's policy (the rest).
      expect(send(current, levels(bad)).outcome).toBe('refused');
    }
    expect(send(current, levels({ events: { 'm.room.name': 50 }, notifications: { room: 50 } })).outcome).toBe('records');
  });

  it('holds a membership change to the membership it was asked for (/unban, /kick, profile updates)', () => {
    const current = room();
    const leaveBob = { ...state('m.room.member', { membership: 'leave' }, ALICE, BOB) };
    // /unban of a joined member would be a kick.
    expect(send(current, { ...leaveBob, ifMembershipIn: ['ban'] })).toMatchObject({ outcome: 'refused', error: { errcode: 'M_FORBIDDEN' } });
    expect(send(current, { ...leaveBob, ifMembershipIn: ['join', 'invite', 'knock'] }).outcome).toBe('records');
    const left = fold(current, send(current, state('m.room.member', { membership: 'leave' }, BOB, BOB)));
    expect(left.state.has(stateKeyOf('m.room.member', BOB))).toBe(true);
    // A profile update decided after Bob left must not rejoin him.
    const rename = { ...state('m.room.member', { membership: 'join', displayname: 'Bob' }, BOB, BOB), ifMembershipIn: ['join'] };
    expect(send(left, rename)).toMatchObject({ outcome: 'refused', error: { errcode: 'M_FORBIDDEN' } });
    expect(send(current, rename).outcome).toBe('records');
  });
});

describe.each([...ROOM_VERSIONS.values()].filter((rules) => rules.auth.restrictedJoins))('restricted joins, room version $id', (rules) => {
  const SPACE = '!space:a.test';
  const restrictedRoom = (): RoomState => fold(initialState, decide(createCommand(rules, [
    state('m.room.join_rules', { join_rule: 'restricted', allow: [{ type: 'm.room_membership', room_id: SPACE }] }),
  ]), initialState, NO_LOOKUPS));
  const join = (authoriser: string): LocalEventRequest =>
    state('m.room.member', { membership: 'join', join_authorised_via_users_server: authoriser }, BOB, BOB);
  const joinedTo = (rooms: string[]): RoomLookups => ({ ...NO_LOOKUPS, joinedRooms: (userId) => (userId === BOB ? new Set(rooms) : undefined) });

  it('authorises a join only for a user in an allowed room, through a user of this server', () => {
    const current = restrictedRoom();
    expect(send(current, join(ALICE), joinedTo([SPACE])).outcome).toBe('records');
    expect(send(current, join(ALICE), joinedTo(['!elsewhere:a.test']))).toMatchObject({ outcome: 'refused', error: { errcode: 'M_FORBIDDEN' } });
    // Not preloaded: refused rather than guessed.
    expect(send(current, join(ALICE))).toMatchObject({ outcome: 'refused', error: { errcode: 'M_FORBIDDEN' } });
    expect(send(current, join('@admin:b.test'), joinedTo([SPACE]))).toMatchObject({ outcome: 'refused', error: { errcode: 'M_FORBIDDEN' } });
  });
});

