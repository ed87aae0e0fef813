import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../../json.ts';
import type { Pdu } from '../../events/index.ts';
import type { RoomInfo, StoredEvent } from '../../ports/rooms.ts';
import { hierarchyChunk, mayPreview, spaceChildren, type SpaceRoom } from './spaceRoom.ts';

const stateEvent = (type: string, stateKey: string, content: JsonObject, originServerTs = 1): StoredEvent => ({
  eventId: `$${type}-${stateKey}`, roomId: '!space:example.org', roomVersion: '10', partition: 0, offset: 0, type, stateKey,
  sender: '@alice:example.org', originServerTs, pdu: { type, state_key: stateKey, content } as unknown as Pdu,
  redactedBecause: null, local: null, replacesState: null, prevContent: null,
});

const room = (state: StoredEvent[], overrides: Partial<RoomInfo> = {}): SpaceRoom => ({
  info: { roomId: '!space:example.org', roomVersion: '10', creator: '@alice:example.org', roomType: 'm.space', partition: 0, lastOffset: 0, ...overrides },
  state,
});

const noRooms = async (): Promise<ReadonlySet<string>> => new Set();

describe('spaceChildren', () => {
  it('orders children as the spec’s example does: valid order, then origin_server_ts, then room id', () => {
    // client-server-api § Ordering of children within a space.
    const children = [
      stateEvent('m.space.child', '!b:example.org', { order: ' ', via: ['example.org'] }, 1640341000000),
      stateEvent('m.space.child', '!a:example.org', { order: 'aaaa', via: ['example.org'] }, 1640141000000),
      stateEvent('m.space.child', '!c:example.org', { order: 'first', via: ['example.org'] }, 1640841000000),
      stateEvent('m.space.child', '!e:example.org', { via: ['example.org'] }, 1640641000000),
      stateEvent('m.space.child', '!d:example.org', { via: ['example.org'] }, 1640741000000),
    ];
    expect(spaceChildren(room(children.toReversed()), false).map((event) => event.stateKey))
      .toEqual(['!b:example.org', '!a:example.org', '!c:example.org', '!e:example.org', '!d:example.org']);
  });

  it('treats an invalid order as absent, breaks timestamp ties by room id, and drops children without a valid via', () => {
    const children = [
      stateEvent('m.space.child', '!long:example.org', { order: 'x'.repeat(51), via: ['example.org'] }, 5),
      stateEvent('m.space.child', '!unicode:example.org', { order: 'é', via: ['example.org'] }, 5),
      stateEvent('m.space.child', '!number:example.org', { order: 3, via: ['example.org'] }, 4),
      stateEvent('m.space.child', '!ok:example.org', { order: 'z', via: ['example.org'] }, 9),
      stateEvent('m.space.child', '!empty:example.org', { via: [] }, 1),
      stateEvent('m.space.child', '!missing:example.org', {}, 1),
      stateEvent('m.space.child', '!bad:example.org', { via: [1] }, 1),
      stateEvent('m.space.parent', '!parent:example.org', { via: ['example.org'] }, 1),
    ];
    expect(spaceChildren(room(children), false).map((event) => event.stateKey))
      .toEqual(['!ok:example.org', '!number:example.org', '!long:example.org', '!unicode:example.org']);
  });

  it('keeps only suggested children with suggested_only, and none for a room that is not a space', () => {
    const children = [
      stateEvent('m.space.child', '!a:example.org', { via: ['example.org'], suggested: true }, 1),
      stateEvent('m.space.child', '!b:example.org', { via: ['example.org'], suggested: 'yes' }, 2),
    ];
    expect(spaceChildren(room(children), true).map((event) => event.stateKey)).toEqual(['!a:example.org']);
    expect(spaceChildren(room(children, { roomType: null }), false)).toEqual([]);
  });
});

describe('mayPreview', () => {
  const user = '@bob:example.org';
  const joinRules = (content: JsonObject) => stateEvent('m.room.join_rules', '', content);

  it('shows public, knockable and world_readable rooms, and rooms the user is joined or invited to', async () => {
    expect(await mayPreview(room([joinRules({ join_rule: 'public' })]), user, noRooms)).toBe(true);
    expect(await mayPreview(room([joinRules({ join_rule: 'knock' })]), user, noRooms)).toBe(true);
    expect(await mayPreview(room([joinRules({ join_rule: 'knock_restricted' })]), user, noRooms)).toBe(true);
    expect(await mayPreview(room([stateEvent('m.room.history_visibility', '', { history_visibility: 'world_readable' })]), user, noRooms)).toBe(true);
    expect(await mayPreview(room([stateEvent('m.room.member', user, { membership: 'invite' })]), user, noRooms)).toBe(true);
    expect(await mayPreview(room([joinRules({ join_rule: 'invite' }), stateEvent('m.room.member', user, { membership: 'leave' })]), user, noRooms)).toBe(false);
    // No m.room.join_rules: invite-only.
    expect(await mayPreview(room([]), user, noRooms)).toBe(false);
  });

  it('applies knock and restricted rules only in room versions that have them', async () => {
    // knock since v7, restricted since v8, knock_restricted since v10.
    expect(await mayPreview(room([joinRules({ join_rule: 'knock' })], { roomVersion: '6' }), user, noRooms)).toBe(false);
    expect(await mayPreview(room([joinRules({ join_rule: 'knock_restricted' })], { roomVersion: '9' }), user, noRooms)).toBe(false);
    const restricted = joinRules({ join_rule: 'restricted', allow: [{ type: 'm.room_membership', room_id: '!parent:example.org' }] });
    const inParent = async (): Promise<ReadonlySet<string>> => new Set(['!parent:example.org']);
    expect(await mayPreview(room([restricted]), user, inParent)).toBe(true);
    expect(await mayPreview(room([restricted]), user, noRooms)).toBe(false);
    expect(await mayPreview(room([restricted], { roomVersion: '7' }), user, inParent)).toBe(false);
  });
});

describe('hierarchyChunk', () => {
  it('summarises the room and lists children as stripped state with origin_server_ts', () => {
    const child = stateEvent('m.space.child', '!a:example.org', { via: ['example.org'] }, 42);
    const chunk = hierarchyChunk(room([
      stateEvent('m.room.name', '', { name: 'Space' }),
      stateEvent('m.room.join_rules', '', { join_rule: 'restricted', allow: [{ type: 'm.room_membership', room_id: '!p:example.org' }, { type: 'x' }] }),
      stateEvent('m.room.member', '@alice:example.org', { membership: 'join' }),
      stateEvent('m.room.member', '@bob:example.org', { membership: 'leave' }),
      stateEvent('m.room.topic', '', { topic: '' }),
      child,
    ]), [child]);
    expect(chunk).toEqual({
      room_id: '!space:example.org', name: 'Space', num_joined_members: 1, world_readable: false, guest_can_join: false,
      join_rule: 'restricted', allowed_room_ids: ['!p:example.org'], room_type: 'm.space', room_version: '10',
      children_state: [{ type: 'm.space.child', state_key: '!a:example.org', sender: '@alice:example.org', origin_server_ts: 42, content: { via: ['example.org'] } }],
    });
  });
});
