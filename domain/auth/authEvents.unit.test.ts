import { describe, expect, it } from 'vitest';
import { ROOM_VERSIONS } from '../roomVersions/index.ts';
import type { RoomEvent } from '../events/index.ts';
import { buildEvent, createTestRoom } from '../../test/builders/index.ts';
import { expectAllowed as ok, expectDenied as no } from '../../test/builders/index.ts';
import { authEventTuples, checkAuthEventsList } from './index.ts';

const alice = '@alice:a.example';
const bob = '@bob:b.example';
const carol = '@carol:c.example';

const keys = (tuples: { type: string; stateKey: string }[]): string[] => tuples.map((t) => `${t.type}|${t.stateKey}`);

describe.each([...ROOM_VERSIONS.values()])('room version $id: auth events', (rules) => {
  const withCreate = !rules.eventFormat.roomIdIsCreateEventHash;
  const base = withCreate ? ['m.room.create|'] : [];

  it('selects create (before v12), power levels and the sender member event', () => {
    expect(authEventTuples({ type: 'm.room.create', stateKey: '', sender: alice, content: {} }, rules)).toEqual([]);
    expect(keys(authEventTuples({ type: 'm.room.message', sender: alice, content: {} }, rules))).toEqual([
      ...base, 'm.room.power_levels|', `m.room.member|${alice}`,
    ]);
  });

  it('selects the target, join rules, third-party invite and authorising user for member events', () => {
    const join = authEventTuples(
      { type: 'm.room.member', stateKey: bob, sender: bob, content: { membership: 'join', join_authorised_via_users_server: carol } },
      rules,
    );
    expect(keys(join)).toEqual([
      ...base, 'm.room.power_levels|', `m.room.member|${bob}`, 'm.room.join_rules|',
      ...(rules.auth.restrictedJoins ? [`m.room.member|${carol}`] : []),
    ]);
    const invite = authEventTuples(
      { type: 'm.room.member', stateKey: bob, sender: alice, content: { membership: 'invite', third_party_invite: { signed: { token: 't' } } } },
      rules,
    );
    expect(keys(invite)).toEqual([
      ...base, 'm.room.power_levels|', `m.room.member|${alice}`, `m.room.member|${bob}`, 'm.room.join_rules|', 'm.room.third_party_invite|t',
    ]);
    const leave = authEventTuples({ type: 'm.room.member', stateKey: bob, sender: alice, content: { membership: 'leave' } }, rules);
    expect(keys(leave)).toEqual([...base, 'm.room.power_levels|', `m.room.member|${alice}`, `m.room.member|${bob}`]);
  });

  it('checks the auth_events list', () => {
    const room = createTestRoom(rules, alice);
    const joined = room.send({ type: 'm.room.member', sender: alice, stateKey: alice, content: { membership: 'join' } });
    ok(joined);
    const create = room.state('m.room.create', '') as RoomEvent;
    const message = room.event({ type: 'm.room.message', sender: alice, content: {} });
    const good = withCreate ? [create, joined.event] : [joined.event];
    ok(checkAuthEventsList(message, good, rules));
    no(checkAuthEventsList(message, [...good, joined.event], rules), /two m.room.member/);
    const topic = room.event({ type: 'm.room.topic', sender: alice, stateKey: '', content: {} });
    no(checkAuthEventsList(message, [...good, topic], rules), /does not pick/);
    const foreign = buildEvent({ type: 'm.room.power_levels', sender: alice, stateKey: '', content: {} }, '!elsewhere:a.example');
    no(checkAuthEventsList(message, [...good, foreign], rules), /another room/);
    const nonState = room.event({ type: 'm.room.message', sender: alice, content: {} });
    no(checkAuthEventsList(message, [...good, nonState], rules), /not a state event/);
    if (withCreate) {
      no(checkAuthEventsList(message, [joined.event], rules), /no m.room.create/);
    } else {
      // Since v12 the create event must not be cited.
      no(checkAuthEventsList(message, [create, joined.event], rules), /does not pick/);
    }
    ok(checkAuthEventsList(create, [], rules));
    no(checkAuthEventsList(create, [joined.event], rules), /no auth_events/);
  });
});
