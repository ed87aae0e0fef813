import { describe, expect, it } from 'vitest';
import { MatrixError } from '../../errors.ts';
import type { JsonObject } from '../../json.ts';
import type { StoredEvent } from '../../ports/rooms.ts';
import { assertServerMayRead, type FederationRoomReadsContext } from './roomReads.ts';
import { createServerAclGuard } from './serverAcl.ts';

const ROOM = '!r:x';

const state = (type: string, stateKey: string, content: JsonObject): StoredEvent => ({
  eventId: `$${type}-${stateKey}`, roomId: ROOM, roomVersion: '10', partition: 0, offset: 0, type, stateKey, sender: '@a:x',
  originServerTs: 0, pdu: { type, state_key: stateKey, content }, redactedBecause: null, local: null, replacesState: null, prevContent: null,
});

/** A room whose current state is `events`, read through the calls the access check makes. */
const contextWith = (events: StoredEvent[]): FederationRoomReadsContext => {
  const rooms = {
    stateEvent: async (roomId: string, type: string, stateKey: string) =>
      events.find((event) => roomId === ROOM && event.type === type && event.stateKey === stateKey),
    members: async (roomId: string) => events.filter((event) => roomId === ROOM && event.type === 'm.room.member'),
    roomInfo: async () => undefined,
    currentState: async () => events,
  };
  // The read model's "host in room" (its SQL is eventGraph.int.test.ts's): a joined member of the server.
  const serverHasJoinedMember = async (roomId: string, server: string) => roomId === ROOM && events.some((event) => event.type === 'm.room.member'
    && event.stateKey?.slice(event.stateKey.indexOf(':') + 1) === server && (event.pdu.content as JsonObject).membership === 'join');
  return {
    serverName: 'x', clock: { now: () => 0 }, rooms,
    graph: { serverHasJoinedMember } as unknown as FederationRoomReadsContext['graph'], relations: undefined as never, acl: createServerAclGuard(rooms),
  };
};

const refusal = async (check: Promise<void>): Promise<string | undefined> => {
  try {
    await check;
    return undefined;
  } catch (error) {
    if (error instanceof MatrixError) return `${error.status} ${error.errcode}`;
    throw error;
  }
};

const member = (userId: string, membership: string) => state('m.room.member', userId, { membership });
const worldReadable = state('m.room.history_visibility', '', { history_visibility: 'world_readable' });
const shared = state('m.room.history_visibility', '', { history_visibility: 'shared' });

describe('which servers may read a room', () => {
  it('lets a server with a joined member read, port and all, and no other', async () => {
    const ctx = contextWith([shared, member('@a:x', 'join'), member('@u:remote.test', 'join'), member('@p:ported.test:8448', 'join')]);
    expect(await refusal(assertServerMayRead(ctx, ROOM, 'remote.test'))).toBeUndefined();
    expect(await refusal(assertServerMayRead(ctx, ROOM, 'ported.test:8448'))).toBeUndefined();
    // The server name is the whole of it: another port is another server.
    expect(await refusal(assertServerMayRead(ctx, ROOM, 'ported.test'))).toBe('403 M_FORBIDDEN');
    expect(await refusal(assertServerMayRead(ctx, ROOM, 'other.test'))).toBe('403 M_FORBIDDEN');
  });

  it('does not count invited, left, banned or knocking members', async () => {
    for (const membership of ['invite', 'leave', 'ban', 'knock']) {
      const ctx = contextWith([shared, member('@u:remote.test', membership)]);
      expect(await refusal(assertServerMayRead(ctx, ROOM, 'remote.test')), membership).toBe('403 M_FORBIDDEN');
    }
  });

  it('lets any server read a world_readable room, and refuses an unknown room', async () => {
    expect(await refusal(assertServerMayRead(contextWith([worldReadable]), ROOM, 'anyone.test'))).toBeUndefined();
    expect(await refusal(assertServerMayRead(contextWith([worldReadable]), '!unknown:x', 'anyone.test'))).toBe('403 M_FORBIDDEN');
  });

  it('refuses a server the ACL denies, joined members and world_readable history notwithstanding, whatever its port', async () => {
    const acl = state('m.room.server_acl', '', { allow: ['*'], deny: ['remote.test'] });
    const ctx = contextWith([worldReadable, acl, member('@u:remote.test:8448', 'join')]);
    expect(await refusal(assertServerMayRead(ctx, ROOM, 'remote.test:8448'))).toBe('403 M_FORBIDDEN');
    expect(await refusal(assertServerMayRead(ctx, ROOM, 'friend.test'))).toBeUndefined();
    // A redacted ACL (empty content) denies everyone, as Synapse reads it.
    const redacted = contextWith([worldReadable, state('m.room.server_acl', '', {})]);
    expect(await refusal(assertServerMayRead(redacted, ROOM, 'friend.test'))).toBe('403 M_FORBIDDEN');
    expect(await redacted.acl.isServerAllowed('!unknown:x', 'friend.test')).toBe(true);
  });
});
