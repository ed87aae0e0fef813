import { describe, expect, it } from 'vitest';
import type { SyncContext } from '../../context.ts';
import { accountDataAnswer } from './accountData.ts';
import { e2eeAnswer } from './e2ee.ts';
import { toDeviceAnswer } from './toDevice.ts';
import { MAX_SCOPE_ENTRIES, NO_EXTENSIONS, parseExtensions, stickyPart, TO_DEVICE_LIMIT } from './config.ts';
import { receiptsAnswer, receiptsForInitialRoom } from './receipts.ts';
import { roomsForExtension } from './scope.ts';
import { decodeState, encodeState, NEW_CONNECTION, recordSent } from './state.ts';

describe('sliding sync extensions: request parsing', () => {
  it('defaults to nothing enabled, to_device limit 100 and every list and subscription in scope', () => {
    const parsed = parseExtensions({});
    expect(parsed).toEqual({ ...NO_EXTENSIONS, toDeviceSince: undefined });
    expect(parsed.typing).toEqual({ enabled: false, lists: ['*'], rooms: ['*'] });
  });

  it('keeps what a request leaves out from the connection (sticky), but never to_device.since', () => {
    const first = parseExtensions({ to_device: { enabled: true, since: '12', limit: 10 }, receipts: { enabled: true, lists: ['dms'] } });
    expect(first.toDeviceSince).toBe(12);
    const second = parseExtensions({ receipts: { rooms: ['!a:x'] } }, stickyPart(first));
    expect(second.toDevice).toEqual({ enabled: true, limit: 10 });
    expect(second.toDeviceSince).toBeUndefined();
    expect(second.receipts).toEqual({ enabled: true, lists: ['dms'], rooms: ['!a:x'] });
    expect(parseExtensions({ receipts: { enabled: false } }, stickyPart(second)).receipts.enabled).toBe(false);
    // An explicit null names nothing.
    expect(parseExtensions({ typing: { enabled: true, lists: null } }).typing.lists).toEqual([]);
  });

  it('caps to_device.limit at 100 and ignores unknown extensions', () => {
    expect(parseExtensions({ to_device: { enabled: true, limit: 5000 }, 'org.example.unknown': { enabled: true } }).toDevice.limit).toBe(TO_DEVICE_LIMIT);
  });

  it('refuses malformed fields with M_BAD_JSON and out-of-bounds ones with M_INVALID_PARAM', () => {
    const refused = (body: Record<string, never> | object) => {
      try {
        parseExtensions(body as never);
      } catch (error) {
        return (error as { errcode: string }).errcode;
      }
      return 'accepted';
    };
    expect(refused({ e2ee: { enabled: 'yes' } })).toBe('M_BAD_JSON');
    expect(refused({ to_device: { limit: 1.5 } })).toBe('M_BAD_JSON');
    expect(refused({ to_device: { limit: 0 } })).toBe('M_INVALID_PARAM');
    expect(refused({ to_device: { since: 12 } })).toBe('M_BAD_JSON');
    expect(refused({ to_device: { since: 'abc' } })).toBe('M_BAD_JSON');
    expect(refused({ account_data: { lists: 'all' } })).toBe('M_BAD_JSON');
    expect(refused({ account_data: { rooms: [1] } })).toBe('M_BAD_JSON');
    expect(refused({ account_data: { rooms: [`!${'a'.repeat(300)}:x`] } })).toBe('M_INVALID_PARAM');
    expect(refused({ receipts: { lists: Array.from({ length: MAX_SCOPE_ENTRIES.lists + 1 }, (_, i) => `l${i}`) } })).toBe('M_INVALID_PARAM');
    expect(refused({ receipts: { rooms: Array.from({ length: MAX_SCOPE_ENTRIES.rooms }, (_, i) => `!r${i}:x`) } })).toBe('accepted');
    expect(refused({ receipts: { rooms: Array.from({ length: MAX_SCOPE_ENTRIES.rooms + 1 }, (_, i) => `!r${i}:x`) } })).toBe('M_INVALID_PARAM');
    expect(refused({ typing: [] })).toBe('M_BAD_JSON');
    expect(refused({ typing: { enabled: true, lists: ['a'], rooms: [] } })).toBe('accepted');
  });
});

describe('sliding sync extensions: scope', () => {
  const rooms = { lists: { all: ['!a', '!b'], dms: ['!c'] }, subscriptions: ['!s', '!t'] };

  it('takes every list and subscription for *, and only the named ones otherwise', () => {
    expect(roomsForExtension({ lists: ['*'], rooms: ['*'] }, rooms).sort()).toEqual(['!a', '!b', '!c', '!s', '!t']);
    expect(roomsForExtension({ lists: ['dms'], rooms: ['!t'] }, rooms).sort()).toEqual(['!c', '!t']);
  });

  it('adds nothing for names that match no list or subscription of the answer', () => {
    expect(roomsForExtension({ lists: ['missing', 'constructor'], rooms: ['!a'] }, rooms)).toEqual([]);
    expect(roomsForExtension({ lists: [], rooms: [] }, rooms)).toEqual([]);
  });
});

describe('sliding sync extensions: connection state', () => {
  it('records rooms as sent at the newest end and forgets the oldest beyond the bound', () => {
    const sent = recordSent(recordSent({}, ['!a', '!b', '!c'], 5), ['!a'], 9, 3);
    expect(Object.entries(sent)).toEqual([['!b', 5], ['!c', 5], ['!a', 9]]);
    expect(Object.keys(recordSent(sent, ['!d'], 10, 3))).toEqual(['!c', '!a', '!d']);
  });

  it('round-trips through the JSON the connection keeps, and reads anything else as a new connection', () => {
    const state = {
      sticky: { ...NO_EXTENSIONS, receipts: { enabled: true, lists: ['all'], rooms: [] } },
      accountData: { '!a': 3 }, receipts: { '!b': 4 },
      keyCounts: { oneTimeKeys: { signed_curve25519: 5 }, unusedFallbackKeyTypes: ['signed_curve25519'] },
    };
    expect(decodeState(JSON.parse(JSON.stringify(encodeState(state))))).toEqual(state);
    expect(decodeState({})).toEqual(NEW_CONNECTION);
    expect(decodeState({ receipts: 'x', e2ee: { enabled: 3 } })).toEqual(NEW_CONNECTION);
  });
});

describe('sliding sync extensions: receipts of a room sent from scratch', () => {
  it('keeps the receipts on its timeline events and the user’s own, drops others elsewhere', () => {
    const content = {
      $seen: { 'm.read': { '@bob:x': { ts: 1 } } },
      $old: { 'm.read': { '@bob:x': { ts: 2 }, '@me:x': { ts: 3 } }, 'm.read.private': { '@me:x': { ts: 4 } } },
      $older: { 'm.read': { '@carol:x': { ts: 5 } } },
    };
    expect(receiptsForInitialRoom(content, new Set(['$seen']), '@me:x')).toEqual({
      $seen: { 'm.read': { '@bob:x': { ts: 1 } } },
      $old: { 'm.read': { '@me:x': { ts: 3 } }, 'm.read.private': { '@me:x': { ts: 4 } } },
    });
  });
});

describe('sliding sync extensions: windows per room', () => {
  const entry = (roomId: string | null, type: string, position: number) => ({ roomId, type, content: { position }, position });
  const entries = [entry(null, 'm.push_rules', 0), entry(null, 'g', 4), entry('!a', 'm.tag', 2), entry('!b', 'x', 3), entry('!a', 'y', 6), entry('!c', 'z', 7)];
  const reads: [number, number][] = [];
  const ctx = {
    userData: {
      streams: {
        accountData: {
          changesSince: async (_user: string, since: number, upTo: number) => {
            reads.push([since, upTo]);
            return entries.filter((e) => e.position > since && e.position <= upTo || (since === 0 && e.position === 0));
          },
        },
        receipts: {
          changesSince: async (_user: string, roomIds: readonly string[], since: number, upTo: number) => {
            reads.push([since, upTo]);
            const all = new Map([['!a', { $old: { 'm.read': { '@bob:x': { ts: 1 } } } }], ['!b', { $new: { 'm.read': { '@carol:x': { ts: 2 } } } }]]);
            return new Map([...all].filter(([roomId]) => roomIds.includes(roomId) && (roomId === '!a' ? 1 : 5) > since));
          },
        },
      },
    },
  } as unknown as SyncContext;

  it('account_data: everything first, then changes; a room back in scope gets what it missed, a new one everything', async () => {
    const first = await accountDataAnswer(ctx, '@me:x', ['!a'], {}, undefined, 5);
    expect(first.answer).toEqual({
      global: [{ type: 'm.push_rules', content: { position: 0 } }, { type: 'g', content: { position: 4 } }],
      rooms: { '!a': [{ type: 'm.tag', content: { position: 2 } }] },
    });
    // !a leaves the scope at 5; !b, never sent, comes in.
    const second = await accountDataAnswer(ctx, '@me:x', ['!b'], first.sent, 5, 6);
    expect(second.answer).toEqual({ global: [], rooms: { '!b': [{ type: 'x', content: { position: 3 } }] } });
    expect(second.sent).toEqual({ '!a': 5, '!b': 6 });
    reads.length = 0;
    const third = await accountDataAnswer(ctx, '@me:x', ['!a', '!b'], second.sent, 6, 8);
    expect(reads).toEqual([[5, 8]]);
    expect(third.answer).toEqual({ global: [], rooms: { '!a': [{ type: 'y', content: { position: 6 } }] } });
    expect(await accountDataAnswer(ctx, '@me:x', ['!a', '!b'], third.sent, 8, 8)).toEqual({ answer: undefined, sent: { '!a': 8, '!b': 8 } });
  });

  it('receipts: a room sent before gets changes since, a room sent from scratch its initial receipts', async () => {
    const answered = { '!a': { initial: true, timeline: [{ event_id: '$old' }] } };
    const first = await receiptsAnswer(ctx, '@me:x', ['!a', '!b'], answered, { '!b': 4 }, 4, 9);
    expect(first.answer).toEqual({
      rooms: {
        '!a': { type: 'm.receipt', content: { $old: { 'm.read': { '@bob:x': { ts: 1 } } } } },
        '!b': { type: 'm.receipt', content: { $new: { 'm.read': { '@carol:x': { ts: 2 } } } } },
      },
    });
    expect((await receiptsAnswer(ctx, '@me:x', ['!a', '!b'], {}, first.sent, 9, 9)).answer).toBeUndefined();
    // A timeline expanded (a larger timeline_limit) brings its receipts again, as Synapse does.
    const expanded = await receiptsAnswer(ctx, '@me:x', ['!a'], { '!a': { expandedTimeline: true, timeline: [{ event_id: '$old' }] } }, first.sent, 9, 9);
    expect(expanded.answer).toEqual({ rooms: { '!a': { type: 'm.receipt', content: { $old: { 'm.read': { '@bob:x': { ts: 1 } } } } } } });
  });
});

describe('sliding sync extensions: a request without a device', () => {
  const untouchable = new Proxy({}, { get: () => { throw new Error('no device: nothing to read'); } });
  const ctx = { userData: { streams: { toDevice: untouchable, keyCounts: () => { throw new Error('no device: nothing to count'); } } } } as unknown as SyncContext;
  const requester = { userId: '@bridge:x', deviceId: '' };

  it('has no to-device inbox and no keys (an application service’s user), as Synapse answers', async () => {
    expect(await toDeviceAnswer(ctx, requester, { since: undefined, limit: 100 }, 7, true)).toEqual({ next_batch: '7', events: [] });
    expect(await toDeviceAnswer(ctx, requester, { since: 7, limit: 100 }, 9, false)).toBeUndefined();
    const positions = { rooms: new Map<number, number>(), accountData: 0, receipts: 0, typing: 0, toDevice: 0, deviceLists: 0, presence: 0 };
    expect((await e2eeAnswer(ctx, requester, undefined, positions, undefined)).answer)
      .toEqual({ device_one_time_keys_count: {}, device_unused_fallback_key_types: [] });
  });
});
