import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../json.ts';
import { ROOM_VERSIONS } from '../roomVersions/index.ts';
import type { RoomVersionRules } from '../roomVersions/index.ts';
import { buildEvent, createTestRoom } from '../../test/builders/index.ts';
import {
  isPowerEvent,
  namedPowerLevel,
  notificationPowerLevel,
  parsePowerLevel,
  powerLevelOf,
  requiredPowerForEvent,
  senderPowerForStateRes,
  stateLookupOf,
} from './index.ts';

const v = (id: string): RoomVersionRules => ROOM_VERSIONS.get(id) as RoomVersionRules;
const alice = '@alice:a.example';
const bob = '@bob:b.example';

describe('parsePowerLevel', () => {
  it('accepts stringy and floaty levels where the room version does', () => {
    for (const [value, expected] of [['100', 100], ['000100', 100], [' +100 ', 100], [' -100 ', -100], [50.57, 50], [-1.5, -1]] as const) {
      expect(parsePowerLevel(value, v('1'))).toBe(expected);
    }
    expect(parsePowerLevel(' 42 ', v('9'))).toBe(42);
    // Since v6 canonical JSON has no floats; since v10 strings are not levels.
    expect(parsePowerLevel(50.5, v('6'))).toBeUndefined();
    expect(parsePowerLevel('50', v('10'))).toBeUndefined();
    expect(parsePowerLevel(50, v('12'))).toBe(50);
    for (const bad of ['1.5', 'abc', '', '1e3', null, true, [], {}]) expect(parsePowerLevel(bad, v('1'))).toBeUndefined();
  });
});

describe.each([...ROOM_VERSIONS.values()])('room version $id: power level helpers', (rules) => {
  const roomId = rules.eventFormat.roomIdIsCreateEventHash ? '!c' : '!r:a.example';
  const create = buildEvent({ type: 'm.room.create', sender: alice, stateKey: '', content: { creator: alice }, eventId: '$c' }, roomId);
  const withLevels = (content: JsonObject) =>
    stateLookupOf([create, buildEvent({ type: 'm.room.power_levels', sender: alice, stateKey: '', content }, roomId)]);

  it('reads defaults without an m.room.power_levels event', () => {
    const state = stateLookupOf([create]);
    expect(requiredPowerForEvent('m.room.message', false, state, rules)).toBe(0);
    expect(requiredPowerForEvent('m.room.name', true, state, rules)).toBe(50);
    expect(['ban', 'kick', 'redact', 'invite'].map((n) => namedPowerLevel(n as 'ban', state, rules))).toEqual([50, 50, 50, 0]);
    expect(notificationPowerLevel('room', state, rules)).toBe(50);
    expect(powerLevelOf(bob, state, rules)).toBe(0);
  });

  it('reads events, defaults, users and notifications from the power levels content', () => {
    const state = withLevels({
      events: { 'm.room.name': 20, constructor: 3 },
      events_default: 5,
      state_default: 60,
      users_default: 7,
      users: { [bob]: 30, '@x:y.example': 'junk' },
      notifications: { room: 10 },
    });
    expect(requiredPowerForEvent('m.room.name', true, state, rules)).toBe(20);
    expect(requiredPowerForEvent('m.room.topic', true, state, rules)).toBe(60);
    expect(requiredPowerForEvent('m.room.message', false, state, rules)).toBe(5);
    // Own properties only: "toString" is not a key of `events`.
    expect(requiredPowerForEvent('toString', false, state, rules)).toBe(5);
    expect(requiredPowerForEvent('constructor', false, state, rules)).toBe(3);
    expect(powerLevelOf(bob, state, rules)).toBe(30);
    expect(powerLevelOf('@x:y.example', state, rules)).toBe(7);
    expect(powerLevelOf(alice, state, rules)).toBe(rules.auth.privilegedCreators ? Number.POSITIVE_INFINITY : 7);
    expect(notificationPowerLevel('room', state, rules)).toBe(10);
  });

  it('gives state resolution the sender power from the auth events', () => {
    const message = buildEvent({ type: 'm.room.message', sender: bob, content: {} }, roomId);
    expect(senderPowerForStateRes(message, withLevels({ users: { [bob]: 42 } }), rules)).toBe(42);
    expect(senderPowerForStateRes(message, stateLookupOf([create]), rules)).toBe(0);
  });
});

describe('isPowerEvent', () => {
  const event = (type: string, stateKey: string | undefined, content: JsonObject, sender = alice) =>
    buildEvent({ type, stateKey, sender, content }, '!r:a.example');
  it('matches power levels, join rules, create, kicks and bans only', () => {
    expect(isPowerEvent(event('m.room.power_levels', '', {}))).toBe(true);
    expect(isPowerEvent(event('m.room.join_rules', '', {}))).toBe(true);
    expect(isPowerEvent(event('m.room.create', '', {}))).toBe(true);
    expect(isPowerEvent(event('m.room.member', bob, { membership: 'ban' }))).toBe(true);
    expect(isPowerEvent(event('m.room.member', bob, { membership: 'leave' }))).toBe(true);
    expect(isPowerEvent(event('m.room.member', alice, { membership: 'leave' }))).toBe(false);
    expect(isPowerEvent(event('m.room.member', bob, { membership: 'invite' }))).toBe(false);
    expect(isPowerEvent(event('m.room.power_levels', undefined, {}))).toBe(false);
    expect(isPowerEvent(event('m.room.topic', '', {}))).toBe(false);
  });
});

describe.each([...ROOM_VERSIONS.values()])('room version $id: m.room.power_levels content shape', (rules) => {
  const setUp = () => {
    const room = createTestRoom(rules, alice);
    room.send({ type: 'm.room.member', sender: alice, stateKey: alice, content: { membership: 'join' } });
    return room;
  };
  const send = (content: JsonObject) => setUp().send({ type: 'm.room.power_levels', sender: alice, stateKey: '', content });
  const denied = (content: JsonObject, reason: RegExp): void => {
    const decision = send(content);
    expect(decision.allowed).toBe(false);
    if (!decision.allowed) expect(decision.reason).toMatch(reason);
  };

  it('denies malformed users, events and levels', () => {
    denied({ users: [] }, /users is not an object/);
    denied({ users: { bob: 10 } }, /not a valid user id/);
    denied({ users: { [bob]: 'ten' } }, /not a valid power level/);
    denied({ events: 5 }, /events is not an object/);
    denied({ events: { 'm.room.name': null } }, /not a valid power level/);
    denied({ kick: {} }, /kick is not a valid power level/);
  });

  it('checks notifications since v6 and integers since v10', () => {
    const notifications = send({ notifications: 'loud' });
    expect(notifications.allowed).toBe(!rules.auth.limitNotificationsPowerLevels);
    expect(send({ users: { [bob]: '10' } }).allowed).toBe(!rules.auth.integerPowerLevels);
    expect(send({ events: { 'm.room.name': '10' } }).allowed).toBe(!rules.auth.integerPowerLevels);
    expect(send({ users: { [bob]: 10.5 } }).allowed).toBe(!rules.auth.strictCanonicalJson);
  });
});
