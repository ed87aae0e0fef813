import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../../json.ts';
import type { MessagesQuery, StoredEvent, UserMembershipChange } from '../../ports/rooms.ts';
import { encodeSyncToken, type SyncPositions } from './token.ts';
import { keyChanges, membersMoved, MEMBER_EVENTS_PAGE, type KeyChangesContext } from './keyChanges.ts';

const member = (stateKey: string, offset: number, membership: string, previous?: string): StoredEvent => ({
  eventId: `$${stateKey}${offset}`, roomId: '!r', roomVersion: '11', partition: 0, offset, type: 'm.room.member', stateKey,
  sender: stateKey, originServerTs: 0, pdu: { content: { membership } } as unknown as StoredEvent['pdu'], redactedBecause: null, local: null,
  replacesState: previous === undefined ? null : `$prev${offset}`, prevContent: previous === undefined ? null : { membership: previous },
});

const token = (rooms: number, deviceLists = 0): string => encodeSyncToken({
  rooms: new Map([[0, rooms]]), accountData: 0, receipts: 0, typing: 0, toDevice: 0, deviceLists, presence: 0,
} satisfies SyncPositions);

interface Fixture {
  readonly own: UserMembershipChange[];
  readonly events?: Record<string, StoredEvent[]>;
  readonly membersAt?: Record<string, string[]>;
  readonly sharing?: string[];
  readonly streamChanged?: string[];
}

/** The ports keyChanges reads, answering from the fixture (and recording the message queries). */
const contextOf = (fixture: Fixture, queries: MessagesQuery[] = []): KeyChangesContext => ({
  sync: { membershipChanges: async (_userId: string, upTo: ReadonlyMap<number, number>) => fixture.own.filter((c) => c.offset < (upTo.get(0) ?? 0)) },
  rooms: {
    members: async (roomId: string, offset?: number) => (fixture.membersAt?.[`${roomId}@${offset}`] ?? []).map((user) => member(user, 0, 'join')),
    messages: async (roomId: string, query: MessagesQuery) => {
      queries.push(query);
      return (fixture.events?.[roomId] ?? []).filter((event) => event.offset >= query.from && event.offset < query.to!).slice(0, query.limit);
    },
  },
  membership: { isJoined: async () => true, usersSharingRoomsWith: async () => new Set(fixture.sharing ?? []) },
  userData: {
    streams: {
      deviceLists: { changesSince: async (_userId: string, since: number, upTo: number) => since < upTo ? fixture.streamChanged ?? [] : [] },
    },
  },
} as unknown as KeyChangesContext);

const change = (roomId: string, offset: number, membership: string, roomLastOffset = 100): UserMembershipChange =>
  ({ roomId, partition: 0, offset, membership, eventId: `$${offset}`, roomLastOffset });
const me = { userId: '@me', deviceId: 'D' };

describe('membersMoved', () => {
  it('compares what a member\'s first event replaced with their last membership', () => {
    expect(membersMoved([
      member('@new', 1, 'join'), member('@renamed', 2, 'join', 'join'), member('@gone', 3, 'leave', 'join'),
      member('@back', 4, 'leave', 'join'), member('@back', 5, 'join', 'leave'), member('@brief', 6, 'join', 'invite'), member('@brief', 7, 'leave', 'join'),
    ])).toEqual({ joined: ['@new'], left: ['@gone'] });
  });
});

describe('keyChanges', () => {
  it('lists users who joined a room the user stayed in, and leavers no longer sharing a room', async () => {
    const ctx = contextOf({
      own: [change('!r', 1, 'join')],
      events: { '!r': [member('@early', 5, 'join'), member('@carol', 12, 'join', 'invite'), member('@bob', 14, 'leave', 'join'), member('@dan', 15, 'ban', 'join')] },
      sharing: ['@me', '@carol', '@dan'], streamChanged: ['@me', '@eve'],
    });
    const answer = await keyChanges(ctx, me, token(10, 1), token(20, 3));
    expect(answer.changed.sort()).toEqual(['@carol', '@eve', '@me']);
    expect(answer.left).toEqual(['@bob']);
  });

  it('lists the members of a room the user joined, and those of a room the user left', async () => {
    const ctx = contextOf({
      own: [change('!joined', 12, 'join'), change('!left', 2, 'join'), change('!left', 15, 'leave')],
      membersAt: { '!joined@19': ['@me', '@x'], '!left@15': ['@y', '@x'] }, sharing: ['@me', '@x'],
    });
    expect(await keyChanges(ctx, me, token(10), token(20))).toEqual({ changed: ['@x'], left: ['@y'] });
  });

  it('skips rooms with nothing new and reads member events page by page', async () => {
    const many = Array.from({ length: MEMBER_EVENTS_PAGE + 3 }, (_, i) => member(`@u${i}`, 10 + i, 'join'));
    const queries: MessagesQuery[] = [];
    const ctx = contextOf({ own: [change('!quiet', 1, 'join', 5), change('!busy', 2, 'join', 10_000)], events: { '!busy': many } }, queries);
    const answer: JsonObject & { changed: string[] } = await keyChanges(ctx, me, token(10), token(10_000));
    expect(answer.changed).toHaveLength(MEMBER_EVENTS_PAGE + 3);
    expect(queries.map((query) => query.from)).toEqual([10, 10 + MEMBER_EVENTS_PAGE]);
  });

  it('refuses missing and foreign tokens', async () => {
    const ctx = contextOf({ own: [] });
    await expect(keyChanges(ctx, me, undefined, token(1))).rejects.toMatchObject({ errcode: 'M_MISSING_PARAM' });
    await expect(keyChanges(ctx, me, token(1), undefined)).rejects.toMatchObject({ errcode: 'M_MISSING_PARAM' });
    await expect(keyChanges(ctx, me, '42', token(1))).rejects.toMatchObject({ errcode: 'M_INVALID_PARAM' });
  });
});
