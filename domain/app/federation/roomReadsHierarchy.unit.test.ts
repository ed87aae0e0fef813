import { describe, expect, it } from 'vitest';
import { MatrixError } from '../../errors.ts';
import type { JsonObject } from '../../json.ts';
import type { RoomInfo, StoredEvent } from '../../ports/rooms.ts';
import { getFederationHierarchy } from './roomReadsHierarchy.ts';
import { createServerAclGuard } from './serverAcl.ts';

const ORIGIN = 'remote.test';

const state = (roomId: string, type: string, stateKey: string, content: JsonObject): StoredEvent => ({
  eventId: `$${roomId}-${type}-${stateKey}`, roomId, roomVersion: '10', partition: 0, offset: 0, type, stateKey, sender: '@a:x',
  originServerTs: 0, pdu: { type, state_key: stateKey, content }, redactedBecause: null, local: null, replacesState: null, prevContent: null,
});

/** Rooms by id: their type and current state (a join rule, members, children…). */
const contextOf = (rooms: Record<string, { type?: string; version?: string; state: [string, string, JsonObject][] }>) => {
  const stateOf = (roomId: string) => (rooms[roomId]?.state ?? []).map(([type, key, content]) => state(roomId, type, key, content));
  const read = {
    roomInfo: async (roomId: string): Promise<RoomInfo | undefined> => rooms[roomId] === undefined ? undefined : {
      roomId, roomVersion: rooms[roomId].version ?? '10', creator: '@a:x', roomType: rooms[roomId].type ?? null, partition: 0, lastOffset: 0,
    },
    currentState: async (roomId: string) => stateOf(roomId),
    stateEvent: async (roomId: string, type: string, key: string) => stateOf(roomId).find((event) => event.type === type && event.stateKey === key),
    members: async (roomId: string) => stateOf(roomId).filter((event) => event.type === 'm.room.member'),
  };
  // The read model's "host in room": a joined member of the server in the room's current state.
  const graph = {
    serverHasJoinedMember: async (roomId: string, server: string) => stateOf(roomId).some((event) => event.type === 'm.room.member'
      && event.stateKey?.endsWith(`:${server}`) === true && (event.pdu.content as JsonObject).membership === 'join'),
  };
  return { rooms: read, acl: createServerAclGuard(read), graph };
};

const child = (roomId: string, suggested = false): [string, string, JsonObject] => ['m.space.child', roomId, { via: ['x'], suggested }];
const joinRule = (rule: string, allow?: JsonObject[]): [string, string, JsonObject] =>
  ['m.room.join_rules', '', { join_rule: rule, ...(allow === undefined ? {} : { allow }) }];

describe('the federation hierarchy', () => {
  const ctx = contextOf({
    '!space:x': { type: 'm.space', state: [joinRule('public'), child('!knock:x'), child('!restricted:x'), child('!closed:x', true), child('!denied:x'), child('!unknown:x'), child('!invited:x')] },
    '!knock:x': { state: [joinRule('knock')] },
    '!oldknock:x': { version: '6', state: [joinRule('knock')] },
    '!restricted:x': { state: [joinRule('restricted', [{ type: 'm.room_membership', room_id: '!lobby:x' }])] },
    '!lobby:x': { state: [joinRule('invite'), ['m.room.member', `@u:${ORIGIN}`, { membership: 'join' }]] },
    '!closed:x': { state: [joinRule('invite'), ['m.room.member', '@u:elsewhere.test', { membership: 'join' }]] },
    '!denied:x': { state: [joinRule('public'), ['m.room.server_acl', '', { allow: ['*'], deny: [ORIGIN] }]] },
    '!invited:x': { state: [joinRule('invite'), ['m.room.member', `@v:${ORIGIN}`, { membership: 'invite' }]] },
  });

  it('answers the space, the children the origin may peek or join, and the others by id', async () => {
    const answer = await getFederationHierarchy(ctx, ORIGIN, '!space:x', undefined);
    expect((answer.room as JsonObject).room_id).toBe('!space:x');
    expect(((answer.room as JsonObject).children_state as JsonObject[]).map((event) => event.state_key))
      .toEqual(['!closed:x', '!denied:x', '!invited:x', '!knock:x', '!restricted:x', '!unknown:x']);
    // Knockable, restricted to a room the origin is in, an invite to one of its users: accessible.
    expect((answer.children as JsonObject[]).map((room) => room.room_id)).toEqual(['!invited:x', '!knock:x', '!restricted:x']);
    expect((answer.children as JsonObject[])[2]).toMatchObject({ allowed_room_ids: ['!lobby:x'] });
    // Closed, or barred by its server ACL; a room we do not hold is left out altogether.
    expect(answer.inaccessible_children).toEqual(['!closed:x', '!denied:x']);
  });

  it('keeps only suggested children when asked', async () => {
    const answer = await getFederationHierarchy(ctx, ORIGIN, '!space:x', 'true');
    expect(((answer.room as JsonObject).children_state as JsonObject[]).map((event) => event.state_key)).toEqual(['!closed:x']);
    expect(answer.inaccessible_children).toEqual(['!closed:x']);
  });

  it('answers 404 for a space the origin may not see, 403 for one whose ACL bars it, 400 for a bad flag', async () => {
    const fails = (roomId: string, flag?: string) => getFederationHierarchy(ctx, ORIGIN, roomId, flag).then(() => 'ok', (error: MatrixError) => `${error.status} ${error.errcode}`);
    expect(await fails('!closed:x')).toBe('404 M_NOT_FOUND');
    expect(await fails('!unknown:x')).toBe('404 M_NOT_FOUND');
    // Knocking came with room version 7.
    expect(await fails('!oldknock:x')).toBe('404 M_NOT_FOUND');
    expect(await fails('!denied:x')).toBe('403 M_FORBIDDEN');
    expect(await fails('!space:x', 'yes')).toBe('400 M_INVALID_PARAM');
    expect(await fails('!knock:x')).toBe('ok');
  });
});
