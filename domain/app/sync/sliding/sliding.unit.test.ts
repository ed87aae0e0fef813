// The pure parts of simplified sliding sync: request parsing (both forms), list filtering and
// ranges, required_state matching, connection positions, and rendering.
import { describe, expect, it } from 'vitest';
import { MatrixError } from '../../../errors.ts';
import type { SlidingRoomSummary } from '../../../ports/slidingSync.ts';
import type { SyncPositions } from '../token.ts';
import { CONNECTION_LIMITS, boundedRooms, createSlidingConnections } from './connections.ts';
import { applyMarks, computeList, inServerList, NO_MARKS, selectRanges, type ListedRoom } from './lists.ts';
import { renderSlidingSync } from './render.ts';
import { parseSlidingSyncRequest, SLIDING_LIMITS } from './request.ts';
import { configsKey, distinctConfigs, exactKeys, lazyMembers, wanted } from './requiredState.ts';
import { mayHaveNews, type RoomRequest } from './roomAnswer.ts';
import type { ConnectionState, SentRoom, SlidingSyncAnswer } from './types.ts';

const ME = '@me:example.org';

const errcode = (run: () => unknown): string | undefined => {
  try {
    run();
  } catch (error) {
    if (error instanceof MatrixError) return error.errcode;
    throw error;
  }
  return undefined;
};

describe('parseSlidingSyncRequest', () => {
  it('reads the unstable form: query pos/timeout, ranges, [type, key] pairs with *, $ME and $LAZY, is_invite', () => {
    const request = parseSlidingSyncRequest('unstable', {
      conn_id: 'room-list',
      lists: {
        all: {
          ranges: [[0, 19], [40, 45]], timeline_limit: 5000,
          required_state: [['m.room.member', '$LAZY'], ['m.room.member', '$ME'], ['*', '*'], ['m.room.topic', '*'], ['m.room.name', '$LAZY']],
          filters: { is_invite: false, is_dm: true, not_room_types: ['m.space', null], spaces: ['!s:example.org'], tags: ['m.favourite'] },
        },
      },
      room_subscriptions: { '!r:example.org': { timeline_limit: 1, required_state: [] } },
      extensions: { to_device: { enabled: true }, e2ee: null },
    }, { pos: 'p1', timeout: '999999999', setPresence: 'unavailable' }, ME);
    expect(request).toEqual({
      connId: 'room-list', pos: 'p1', timeoutMs: 300_000, setPresence: 'unavailable',
      lists: {
        all: {
          ranges: [[0, 19], [40, 45]], timelineLimit: SLIDING_LIMITS.timelineLimit,
          requiredState: { include: [{ type: 'm.room.member', stateKey: ME }, {}, { type: 'm.room.topic' }], exclude: [], lazyMembers: true },
          filters: { isInvite: false, isDm: true, notRoomTypes: ['m.space', null], spaces: ['!s:example.org'], tags: ['m.favourite'] },
        },
      },
      roomSubscriptions: { '!r:example.org': { timelineLimit: 1, requiredState: { include: [], exclude: [], lazyMembers: false } } },
      extensions: { to_device: { enabled: true } },
    });
  });

  it('reads the v4 form: everything in the body, range, include/exclude/lazy_members, is_invited', () => {
    const request = parseSlidingSyncRequest('v4', {
      pos: 'p2', timeout: 1000, set_presence: 'offline',
      lists: { a: { range: [0, 9], timeline_limit: 1, required_state: { include: [{}], exclude: [{ type: 'm.room.create', state_key: '' }], lazy_members: true }, filters: { is_invited: true } } },
    }, { pos: 'ignored', timeout: '5' }, ME);
    expect(request).toMatchObject({
      connId: '', pos: 'p2', timeoutMs: 1000, setPresence: 'offline',
      lists: { a: { ranges: [[0, 9]], requiredState: { include: [{}], exclude: [{ type: 'm.room.create', stateKey: '' }], lazyMembers: true }, filters: { isInvite: true } } },
    });
    // `$ME` is an unstable placeholder only.
    expect(parseSlidingSyncRequest('v4', { room_subscriptions: { '!r:x': { timeline_limit: 0, required_state: { include: [{ state_key: '$ME' }] } } } }, {}, ME)
      .roomSubscriptions['!r:x']!.requiredState.include).toEqual([{ stateKey: '$ME' }]);
  });

  it('keeps list and extension names such as __proto__ as ordinary names', () => {
    const config = { timeline_limit: 1, required_state: [] };
    const body = JSON.parse('{"lists":{"__proto__":{"timeline_limit":1,"required_state":[]},"constructor":{"timeline_limit":2,"required_state":[]}},'
      + '"extensions":{"__proto__":{"enabled":true}}}') as object;
    const request = parseSlidingSyncRequest('unstable', body, {}, ME);
    expect(Object.keys(request.lists)).toEqual(['__proto__', 'constructor']);
    expect(Object.getPrototypeOf(request.lists)).toBe(Object.prototype);
    expect(Object.entries(request.lists).map(([, list]) => list.timelineLimit)).toEqual([config.timeline_limit, 2]);
    expect(Object.keys(request.extensions)).toEqual(['__proto__']);
  });

  it('refuses every bad shape with M_BAD_JSON and every value out of bounds with M_INVALID_PARAM', () => {
    const config = { timeline_limit: 1, required_state: [] };
    const cases: [unknown, string, Record<string, string>?][] = [
      [[], 'M_BAD_JSON'],
      [{ lists: { a: 5 } }, 'M_BAD_JSON'],
      [{ lists: { a: { timeline_limit: 1 } } }, 'M_BAD_JSON'],
      [{ lists: { a: { ...config, timeline_limit: '1' } } }, 'M_BAD_JSON'],
      [{ lists: { a: { ...config, timeline_limit: -1 } } }, 'M_INVALID_PARAM'],
      [{ lists: { a: { ...config, ranges: [[1, 0]] } } }, 'M_INVALID_PARAM'],
      [{ lists: { a: { ...config, ranges: [[0, 'x']] } } }, 'M_BAD_JSON'],
      [{ lists: { a: { ...config, required_state: [['a', 1]] } } }, 'M_BAD_JSON'],
      [{ lists: { a: { ...config, filters: { room_types: [5] } } } }, 'M_BAD_JSON'],
      [{ lists: { '': config } }, 'M_INVALID_PARAM'],
      [{ room_subscriptions: { '!r:x': 1 } }, 'M_BAD_JSON'],
      [{ extensions: { a: [] } }, 'M_BAD_JSON'],
      [{ extensions: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`e${i}`, {}])) }, 'M_INVALID_PARAM'],
      [{}, 'M_INVALID_PARAM', { timeout: '1.5' }],
      [{}, 'M_INVALID_PARAM', { setPresence: 'away' }],
      [{ pos: 'x'.repeat(256) }, 'M_INVALID_PARAM'],
    ];
    for (const [body, code, query] of cases) {
      const form = (body as { pos?: string }).pos === undefined ? 'unstable' : 'v4';
      expect([body, errcode(() => parseSlidingSyncRequest(form, body, query ?? {}, ME))]).toEqual([body, code]);
    }
    expect(errcode(() => parseSlidingSyncRequest('v4', { timeout: -1 }, {}, ME))).toBe('M_INVALID_PARAM');
    expect(errcode(() => parseSlidingSyncRequest('v4', { lists: { a: { ...config, required_state: { include: 'x' } } } }, {}, ME))).toBe('M_BAD_JSON');
  });
});

const summary = (roomId: string, extra: Partial<SlidingRoomSummary> = {}): SlidingRoomSummary => ({
  roomId, partition: 0, lastOffset: 10, membership: 'join', membershipEventId: `$${roomId}`, membershipSender: ME, bumpStamp: 1,
  roomType: null, encrypted: false, name: null, avatar: null, canonicalAlias: null, joinedCount: 1, invitedCount: 0, ...extra,
});

describe('lists', () => {
  const rooms: ListedRoom[] = [
    { summary: summary('!dm:x'), membership: 'join' },
    { summary: summary('!space:x', { roomType: 'm.space' }), membership: 'join' },
    { summary: summary('!secret:x', { encrypted: true }), membership: 'join' },
    { summary: summary('!invite:x'), membership: 'invite' },
  ];
  const marks = applyMarks(NO_MARKS, [
    { roomId: null, type: 'm.direct', content: { '@you:x': ['!dm:x', 5] }, position: 1 },
    { roomId: '!secret:x', type: 'm.tag', content: { tags: { 'm.favourite': {}, 'u.work': {} } }, position: 2 },
    { roomId: '!dm:x', type: 'm.tag', content: { tags: { 'u.work': {} } }, position: 3 },
  ]);
  const inputs = { rooms, marks, spaceChildren: new Map([['!space:x', new Set(['!secret:x'])]]) };
  const ids = (filters: object, ranges?: [number, number][]): readonly string[] =>
    computeList({ timelineLimit: 1, requiredState: { include: [], exclude: [], lazyMembers: false }, filters, ...(ranges === undefined ? {} : { ranges }) }, inputs).roomIds;

  it('filters on DMs, invites, encryption, spaces, room types and tags, in list order', () => {
    expect(ids({ isDm: true })).toEqual(['!dm:x']);
    expect(ids({ isDm: false, isInvite: false })).toEqual(['!space:x', '!secret:x']);
    expect(ids({ isInvite: true })).toEqual(['!invite:x']);
    expect(ids({ isEncrypted: true })).toEqual(['!secret:x']);
    expect(ids({ spaces: ['!space:x', '!unknown:x'] })).toEqual(['!secret:x']);
    expect(ids({ roomTypes: ['m.space'] })).toEqual(['!space:x']);
    expect(ids({ roomTypes: [null, 'm.space'], notRoomTypes: ['m.space'] })).toEqual(['!dm:x', '!secret:x', '!invite:x']);
    expect(ids({ tags: ['u.work'] })).toEqual(['!dm:x', '!secret:x']);
    expect(ids({ tags: ['u.work'], notTags: ['m.favourite'] })).toEqual(['!dm:x']);
    // A removed tag set and a replaced m.direct apply.
    const later = applyMarks(marks, [
      { roomId: '!dm:x', type: 'm.tag', content: { tags: {} }, position: 4 },
      { roomId: null, type: 'm.direct', content: {}, position: 5 },
    ]);
    expect([later.direct.size, later.tags.has('!dm:x'), later.tags.has('!secret:x')]).toEqual([0, false, true]);
    expect(applyMarks(marks, [])).toBe(marks);
  });

  it('cuts ranges inclusively, within the list, each index once, and counts the filtered list', () => {
    expect(ids({}, [[1, 2]])).toEqual(['!space:x', '!secret:x']);
    expect(ids({}, [[0, 0], [0, 1], [3, 99]])).toEqual(['!dm:x', '!space:x', '!invite:x']);
    expect(ids({}, [[10, 20]])).toEqual([]);
    expect(selectRanges(0, [[0, 5]])).toEqual([]);
    const result = computeList({ timelineLimit: 1, requiredState: { include: [], exclude: [], lazyMembers: false }, filters: { isInvite: false }, ranges: [[0, 0], [2, 5]] }, inputs);
    expect(result.count).toBe(3);
    expect(result.ranges).toEqual([{ range: [0, 0], roomIds: ['!dm:x'] }, { range: [2, 5], roomIds: ['!secret:x'] }]);
  });

  it('lists every membership but a leave, kicks, and a self-leave only while it is new to the connection (as Synapse)', () => {
    const room = (membership: string, sender: string | null, newlyLeft = false) => ({ membership, sender, newlyLeft });
    for (const membership of ['join', 'invite', 'knock', 'ban']) expect(inServerList(room(membership, '@admin:x'), ME, undefined)).toBe(true);
    expect(inServerList(room('leave', '@admin:x'), ME, undefined)).toBe(true);
    expect(inServerList(room('leave', ME), ME, undefined)).toBe(false);
    expect(inServerList(room('leave', null), ME, undefined)).toBe(false);
    expect(inServerList(room('leave', ME, true), ME, undefined)).toBe(true);
    expect(inServerList(room('leave', ME), ME, 'join')).toBe(true);
    expect(inServerList(room('leave', ME), ME, 'invite')).toBe(true);
    expect(inServerList(room('leave', ME), ME, 'leave')).toBe(false);
  });
});

describe('required_state matching', () => {
  const members = { include: [{ type: 'm.room.member' }], exclude: [{ type: 'm.room.member', stateKey: '@spam:x' }], lazyMembers: false };
  const names = { include: [{ type: 'm.room.name', stateKey: '' }, { stateKey: 'k' }], exclude: [], lazyMembers: true };
  it('includes what one config includes and does not exclude; lazy when any config is', () => {
    expect(wanted([members], 'm.room.member', '@a:x')).toBe(true);
    expect(wanted([members], 'm.room.member', '@spam:x')).toBe(false);
    expect(wanted([members, { include: [{}], exclude: [], lazyMembers: false }], 'm.room.member', '@spam:x')).toBe(true);
    expect(wanted([names], 'm.room.name', '')).toBe(true);
    expect(wanted([names], 'm.room.topic', 'k')).toBe(true);
    expect(wanted([names], 'm.room.topic', '')).toBe(false);
    expect(wanted([], 'm.room.name', '')).toBe(false);
    expect([lazyMembers([members]), lazyMembers([members, names])]).toEqual([false, true]);
    expect(configsKey([members, names])).toBe(configsKey([names, members]));
    expect(configsKey([members])).not.toBe(configsKey([names]));
    expect(distinctConfigs([members, { ...members }, names])).toEqual([members, names]);
    // Only exact entries can be read alone; any wildcard needs the whole state.
    const exactOnes = { include: [{ type: 'm.room.name', stateKey: '' }, { type: 'm.room.member', stateKey: ME }], exclude: [], lazyMembers: true };
    expect(exactKeys([exactOnes])).toEqual([['m.room.name', ''], ['m.room.member', ME]]);
    expect(exactKeys([exactOnes, names])).toBeUndefined();
    expect(exactKeys([{ include: [], exclude: [], lazyMembers: true }])).toEqual([]);
  });
});

describe('connections', () => {
  const positions: SyncPositions = { rooms: new Map(), accountData: 0, receipts: 0, typing: 0, toDevice: 0, deviceLists: 0, presence: 0 };
  const state = (extensions = {}): ConnectionState => ({ positions, rooms: new Map(), marks: NO_MARKS, marksAt: 0, extensions });

  it('resumes a stored pos once the client uses it, dropping the others; unknown, foreign and expired ones are M_UNKNOWN_POS', () => {
    const connections = createSlidingConnections('i1');
    const first = connections.store(ME, 'D', '', state({ a: 1 }), 0);
    const retried = connections.store(ME, 'D', '', state({ a: 2 }), 0);
    expect(connections.resume(ME, 'D', '', first, 10).state.extensions).toEqual({ a: 1 });
    // Using `first` shows the client never processed `retried`.
    expect(errcode(() => connections.resume(ME, 'D', '', retried, 10))).toBe('M_UNKNOWN_POS');
    expect(connections.resume(ME, 'D', '', first, 20).state.extensions).toEqual({ a: 1 });
    expect(errcode(() => connections.resume(ME, 'D', 'other', first, 20))).toBe('M_UNKNOWN_POS');
    expect(errcode(() => connections.resume(ME, 'E', '', first, 20))).toBe('M_UNKNOWN_POS');
    expect(errcode(() => createSlidingConnections('i2').resume(ME, 'D', '', first, 20))).toBe('M_UNKNOWN_POS');
    expect(errcode(() => connections.resume(ME, 'D', '', first, 20 + CONNECTION_LIMITS.expiryMs + 1))).toBe('M_UNKNOWN_POS');
    const again = connections.store(ME, 'D', '', state(), 0);
    connections.reset(ME, 'D', '');
    expect(errcode(() => connections.resume(ME, 'D', '', again, 0))).toBe('M_UNKNOWN_POS');
    // An answer computed from a connection started over meanwhile is not stored.
    const { handle } = connections.resume(ME, 'D', '', connections.store(ME, 'D', '', state(), 0), 0);
    connections.reset(ME, 'D', '');
    expect(errcode(() => connections.store(ME, 'D', '', state(), 0, handle))).toBe('M_UNKNOWN_POS');
    const deleted = connections.store(ME, 'D', 'x', state(), 0);
    connections.forgetDevice(ME, 'D');
    expect(errcode(() => connections.resume(ME, 'D', 'x', deleted, 0))).toBe('M_UNKNOWN_POS');
    const gone = connections.store(ME, 'D', 'x', state(), 0);
    connections.forgetUser(ME);
    expect(errcode(() => connections.resume(ME, 'D', 'x', gone, 0))).toBe('M_UNKNOWN_POS');
  });

  it('bounds connections per device, in all (least recently used first) and rooms per connection', () => {
    const connections = createSlidingConnections('i');
    const first = connections.store(ME, 'D', 'c0', state(), 0);
    const second = connections.store(ME, 'D', 'c1', state(), 0);
    for (let i = 2; i <= CONNECTION_LIMITS.connectionsPerDevice; i++) connections.store(ME, 'D', `c${i}`, state(), 0);
    expect(errcode(() => connections.resume(ME, 'D', 'c0', first, 0))).toBe('M_UNKNOWN_POS');
    // Used just now, c1 outlives D's other connections when every device's count against the bound,
    // and goes before the connections made after it.
    const third = connections.store(ME, 'D', 'c2', state(), 0);
    connections.resume(ME, 'D', 'c1', second, 0);
    let others = '';
    for (let i = 0; i < CONNECTION_LIMITS.connections - 1; i++) {
      const pos = connections.store(`@u${i}:x`, 'D', '', state(), 0);
      if (i === 0) others = pos;
    }
    expect(errcode(() => connections.resume(ME, 'D', 'c2', third, 0))).toBe('M_UNKNOWN_POS');
    connections.store('@last:x', 'D', '', state(), 0);
    expect(errcode(() => connections.resume(ME, 'D', 'c1', second, 0))).toBe('M_UNKNOWN_POS');
    expect(connections.resume('@u0:x', 'D', '', others, 0).state.marksAt).toBe(0);
    const sent = (upTo: number): SentRoom => ({
      upTo, membership: 'join', timelineLimit: 1, requiredState: [], lazyMembers: [], name: null, avatar: null, isDm: false,
    });
    const rooms = new Map(Array.from({ length: 5 }, (_, i) => [`!r${i}:x`, sent(i)]));
    expect([...boundedRooms(rooms, 3).keys()]).toEqual(['!r2:x', '!r3:x', '!r4:x']);
    expect(boundedRooms(rooms, 5)).toBe(rooms);
  });
});

describe('renderSlidingSync', () => {
  const answer: SlidingSyncAnswer = {
    pos: 'p',
    lists: { all: { count: 2, ranges: [{ range: [0, 0], roomIds: ['!a:x'] }] } },
    rooms: {
      '!a:x': {
        membership: 'join', lists: ['all'], name: null, avatar: 'mxc://x/y', heroes: [{ userId: '@h:x', displayname: 'H' }], isDm: false,
        initial: true, expandedTimeline: true, requiredState: [{ type: 'm.room.topic', state_key: '' }, { type: 'm.room.name', state_key: '', content: {} }],
        timeline: [{ type: 'm.room.message' }], prevBatch: 't1', limited: false, numLive: 0, bumpStamp: 5, joinedCount: 1, invitedCount: 0,
        notificationCount: 2, highlightCount: 1,
      },
      '!i:x': { membership: 'invite', initial: true, strippedState: [{ type: 'm.room.name' }], bumpStamp: 3 },
    },
    extensions: {},
  };

  it('renders the unstable form as Synapse does', () => {
    expect(renderSlidingSync('unstable', answer)).toEqual({
      pos: 'p',
      lists: { all: { count: 2, ops: [{ op: 'SYNC', range: [0, 0], room_ids: ['!a:x'] }] } },
      rooms: {
        '!a:x': {
          notification_count: 2, highlight_count: 1, bump_stamp: 5, joined_count: 1, invited_count: 0, avatar: 'mxc://x/y',
          heroes: [{ user_id: '@h:x', displayname: 'H' }], initial: true, unstable_expanded_timeline: true,
          required_state: [{ type: 'm.room.name', state_key: '', content: {} }], timeline: [{ type: 'm.room.message' }],
          limited: false, prev_batch: 't1', num_live: 0,
        },
        '!i:x': { notification_count: 0, highlight_count: 0, bump_stamp: 3, initial: true, invite_state: [{ type: 'm.room.name' }] },
      },
      extensions: {},
    });
  });

  it('renders the v4 form with its renamed fields, membership, lists, null names and state stubs', () => {
    const rendered = renderSlidingSync('v4', { ...answer, lists: { all: { count: 2, ranges: [] } } });
    expect(rendered.lists).toEqual({ all: { count: 2 } });
    expect(rendered.rooms).toEqual({
      '!a:x': {
        membership: 'join', lists: ['all'], bump_stamp: 5, name: null, avatar: 'mxc://x/y', heroes: [{ user_id: '@h:x', displayname: 'H' }],
        is_dm: false, initial: true, expanded_timeline: true,
        required_state: [{ type: 'm.room.topic', state_key: '' }, { type: 'm.room.name', state_key: '', content: {} }],
        timeline_events: [{ type: 'm.room.message' }], prev_batch: 't1', limited: false, num_live: 0, joined_count: 1, invited_count: 0,
        notification_count: 2, highlight_count: 1,
      },
      '!i:x': { membership: 'invite', bump_stamp: 3, initial: true, stripped_state: [{ type: 'm.room.name' }] },
    });
    expect(renderSlidingSync('v4', { ...answer, lists: {} }).lists).toBeUndefined();
  });
});

describe('mayHaveNews', () => {
  const config = { include: [{ type: 'm.room.name' }], exclude: [], lazyMembers: false };
  const sent: SentRoom = { upTo: 20, membership: 'join', timelineLimit: 1, requiredState: [config], lazyMembers: [], name: null, avatar: null, isDm: false };
  const request = (extra: Partial<RoomRequest> = {}, lastOffset = 15): RoomRequest => ({
    summary: summary('!r:x', { lastOffset }), membership: 'join', changes: [{ roomId: '!r:x', partition: 0, offset: 3, membership: 'join', eventId: '$j' }],
    timelineLimit: 1, requiredState: [config], lists: ['all'], isDm: false, sent, ...extra,
  });

  it('reads a room only when it is new, changed, reconfigured or has events past what was sent', () => {
    expect(mayHaveNews(request(), 30)).toBe(false);
    expect(mayHaveNews(request({}, 20), 30)).toBe(true);
    // An event past the answer's positions is for the next answer.
    expect(mayHaveNews(request({ sent: { ...sent, upTo: 30 } }, 35), 30)).toBe(false);
    expect(mayHaveNews(request({ sent: undefined }), 30)).toBe(true);
    expect(mayHaveNews(request({ membership: 'leave' }), 30)).toBe(true);
    expect(mayHaveNews(request({ isDm: true }), 30)).toBe(true);
    expect(mayHaveNews(request({ timelineLimit: 2 }), 30)).toBe(true);
    expect(mayHaveNews(request({ timelineLimit: 0 }), 30)).toBe(false);
    expect(mayHaveNews(request({ requiredState: [config, { include: [{}], exclude: [], lazyMembers: false }] }), 30)).toBe(true);
    // A room left before what was sent has nothing after the leave to show.
    const left = { ...sent, membership: 'leave' };
    const leave = [{ roomId: '!r:x', partition: 0, offset: 10, membership: 'leave', eventId: '$l' }];
    expect(mayHaveNews(request({ membership: 'leave', sent: left, changes: leave }, 25), 30)).toBe(false);
    // An invite already sent stays quiet.
    expect(mayHaveNews(request({ membership: 'invite', sent: { ...sent, membership: 'invite' } }, 25), 30)).toBe(false);
  });
});
