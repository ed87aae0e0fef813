// Parsing the EDUs of an inbound transaction: each type's shape, its origin speaking only for its
// own users, and the bounds (limits.ts). Refusals carry a reason; nothing throws.
import { describe, expect, it } from 'vitest';
import { EDU_LIMITS } from './limits.ts';
import { eduBytes, parseEdu } from './parse.ts';

const ORIGIN = 'remote.example:8448';
const US = 'strata.test';
const alice = `@alice:${ORIGIN}`;
const ROOM = '!room:strata.test';

const parse = (edu_type: string, content: unknown) => parseEdu({ edu_type, content }, ORIGIN, US);
const reasonOf = (edu_type: string, content: unknown): string => {
  const parsed = parse(edu_type, content);
  if (parsed.ok) throw new Error(`expected a refusal, got ${JSON.stringify(parsed.edu)}`);
  return parsed.reason;
};

describe('m.typing', () => {
  it('parses a typing update of a user of the origin (a server name with a port included)', () => {
    expect(parse('m.typing', { room_id: ROOM, user_id: alice, typing: true }))
      .toEqual({ ok: true, edu: { kind: 'typing', roomId: ROOM, userId: alice, typing: true } });
  });

  it('refuses a user of another server, a bad room id, a non-boolean typing', () => {
    expect(reasonOf('m.typing', { room_id: ROOM, user_id: '@mallory:elsewhere.example', typing: true })).toMatch(/not a user of remote/);
    // The origin's name without its port is another server.
    expect(reasonOf('m.typing', { room_id: ROOM, user_id: '@a:remote.example', typing: true })).toMatch(/not a user of/);
    expect(reasonOf('m.typing', { room_id: 'room', user_id: alice, typing: true })).toMatch(/room_id/);
    expect(reasonOf('m.typing', { room_id: ROOM, user_id: alice, typing: 'yes' })).toMatch(/typing/);
  });
});

describe('m.receipt', () => {
  const read = (entries: Record<string, unknown>) => ({ [ROOM]: { 'm.read': entries } });

  it('parses m.read receipts with ts and thread_id, dropping other servers\' users and malformed entries', () => {
    const parsed = parse('m.receipt', read({
      [alice]: { event_ids: ['$e1'], data: { ts: 5, thread_id: 'main' } },
      [`@bob:${ORIGIN}`]: { event_ids: ['$e2', '$e3'], data: { ts: 6 } },
      '@mallory:elsewhere.example': { event_ids: ['$e4'], data: { ts: 7 } },
      [`@carol:${ORIGIN}`]: { event_ids: [], data: { ts: 7 } },
      [`@dave:${ORIGIN}`]: { event_ids: ['$e5'], data: { ts: 7, thread_id: 'not an id' } },
    }));
    expect(parsed).toEqual({
      ok: true,
      edu: {
        kind: 'receipts', dropped: 3,
        receipts: [
          { roomId: ROOM, userId: alice, eventId: '$e1', ts: 5, threadId: 'main' },
          { roomId: ROOM, userId: `@bob:${ORIGIN}`, eventId: '$e2', ts: 6 },
        ],
      },
    });
  });

  it('ignores m.read.private and other receipt types: they never travel between servers', () => {
    expect(parse('m.receipt', { [ROOM]: { 'm.read.private': { [alice]: { event_ids: ['$e1'], data: { ts: 1 } } } } }))
      .toEqual({ ok: true, edu: { kind: 'receipts', receipts: [], dropped: 0 } });
  });

  it('refuses more rooms or users than the bounds', () => {
    const rooms = Object.fromEntries(Array.from({ length: EDU_LIMITS.receiptRooms + 1 }, (_, i) => [`!r${i}:x.example`, {}]));
    expect(reasonOf('m.receipt', rooms)).toMatch(/rooms/);
    const users = Object.fromEntries(Array.from({ length: EDU_LIMITS.receiptUsersPerRoom + 1 }, (_, i) => [`@u${i}:${ORIGIN}`, {}]));
    expect(reasonOf('m.receipt', read(users))).toMatch(/users/);
    expect(reasonOf('m.receipt', { 'not a room': {} })).toMatch(/room id/);
  });
});

describe('m.presence', () => {
  it('parses the origin\'s users\' updates and drops the rest', () => {
    expect(parse('m.presence', {
      push: [
        { user_id: alice, presence: 'online', last_active_ago: 10, currently_active: true, status_msg: 'hi' },
        { user_id: '@mallory:elsewhere.example', presence: 'online', last_active_ago: 1 },
        { user_id: `@bob:${ORIGIN}`, presence: 'busy', last_active_ago: 1 },
        { user_id: `@carol:${ORIGIN}`, presence: 'offline', last_active_ago: 2, status_msg: 'x'.repeat(EDU_LIMITS.statusMessageBytes + 1) },
        { user_id: `@dave:${ORIGIN}`, presence: 'unavailable', last_active_ago: 3, status_msg: null },
      ],
    })).toEqual({
      ok: true,
      edu: {
        kind: 'presence', dropped: 3,
        updates: [
          { userId: alice, presence: 'online', lastActiveAgo: 10, statusMsg: 'hi' },
          { userId: `@dave:${ORIGIN}`, presence: 'unavailable', lastActiveAgo: 3 },
        ],
      },
    });
  });

  it('refuses a missing or oversized push list', () => {
    expect(reasonOf('m.presence', {})).toMatch(/push/);
    expect(reasonOf('m.presence', { push: Array.from({ length: EDU_LIMITS.presenceUpdates + 1 }, () => ({})) })).toMatch(/more than/);
  });
});

describe('m.device_list_update and m.signing_key_update', () => {
  const update = { user_id: alice, device_id: 'DEV', stream_id: 7, prev_id: [5], deleted: false, keys: {} };

  it('parse to "the user\'s keys changed"', () => {
    expect(parse('m.device_list_update', update)).toEqual({ ok: true, edu: { kind: 'keysChanged', userId: alice } });
    expect(parse('m.signing_key_update', { user_id: alice, master_key: { user_id: alice, usage: ['master'], keys: {} } }))
      .toEqual({ ok: true, edu: { kind: 'keysChanged', userId: alice } });
  });

  it('refuse another server\'s user, missing fields, long prev_id lists, a key naming another user', () => {
    expect(reasonOf('m.device_list_update', { ...update, user_id: '@m:elsewhere.example' })).toMatch(/not a user of/);
    expect(reasonOf('m.device_list_update', { ...update, device_id: undefined })).toMatch(/device_id/);
    expect(reasonOf('m.device_list_update', { ...update, stream_id: -1 })).toMatch(/stream_id/);
    expect(reasonOf('m.device_list_update', { ...update, prev_id: Array.from({ length: EDU_LIMITS.prevIds + 1 }, (_, i) => i) })).toMatch(/prev_id/);
    expect(reasonOf('m.device_list_update', { ...update, device_id: 'd'.repeat(256) })).toMatch(/device_id/);
    expect(reasonOf('m.signing_key_update', { user_id: alice, self_signing_key: { user_id: '@x:remote.example:8448' } })).toMatch(/not a key of/);
  });
});

describe('m.direct_to_device', () => {
  const edu = (messages: unknown, extra: Record<string, unknown> = {}) =>
    ({ sender: alice, type: 'm.room_key_request', message_id: 'm1', messages, ...extra });

  it('keeps messages for our users, `*` included, and drops those for other servers\' users', () => {
    expect(parse('m.direct_to_device', edu({
      '@bob:strata.test': { DEV1: { a: 1 }, '*': { b: 2 } },
      '@carol:elsewhere.example': { X: { c: 3 } },
    }))).toEqual({
      ok: true,
      edu: {
        kind: 'toDevice', sender: alice, type: 'm.room_key_request', messageId: 'm1', dropped: 1,
        messages: [
          { userId: '@bob:strata.test', deviceId: 'DEV1', content: { a: 1 } },
          { userId: '@bob:strata.test', deviceId: '*', content: { b: 2 } },
        ],
      },
    });
  });

  it('refuses a sender of another server and malformed or oversized batches', () => {
    expect(reasonOf('m.direct_to_device', edu({}, { sender: '@m:elsewhere.example' }))).toMatch(/sender/);
    expect(reasonOf('m.direct_to_device', edu({}, { message_id: '' }))).toMatch(/message_id/);
    expect(reasonOf('m.direct_to_device', edu({}, { message_id: 'm'.repeat(EDU_LIMITS.messageIdBytes + 1) }))).toMatch(/message_id/);
    expect(reasonOf('m.direct_to_device', edu({}, { type: 5 }))).toMatch(/type/);
    expect(reasonOf('m.direct_to_device', edu({ '@bob:strata.test': { D: 'text' } }))).toMatch(/not an object/);
    const many = Object.fromEntries(Array.from({ length: EDU_LIMITS.toDeviceMessages + 1 }, (_, i) => [`D${i}`, {}]));
    expect(reasonOf('m.direct_to_device', edu({ '@bob:strata.test': many }))).toMatch(/more than/);
  });
});

describe('any EDU', () => {
  it('refuses what is no EDU, and EDU types this server does not handle', () => {
    for (const raw of [null, 5, 'edu', [], { edu_type: 5, content: {} }, { edu_type: 'm.typing' }, { edu_type: 'm.typing', content: [] }]) {
      expect(parseEdu(raw, ORIGIN, US).ok).toBe(false);
    }
    expect(reasonOf('org.example.custom', {})).toBe('unknown edu_type');
  });

  it('measures an EDU as JSON text in UTF-8 bytes', () => {
    expect(eduBytes({ a: 'é' })).toBe(10);
    expect(eduBytes(undefined)).toBeUndefined();
  });
});
