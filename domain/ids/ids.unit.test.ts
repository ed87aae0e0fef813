import { describe, expect, it } from 'vitest';
import {
  createEventIdOfRoom,
  isCompliantUserId,
  isValidLocalpart,
  makeUserId,
  parseEventId,
  parseRoomAlias,
  parseRoomId,
  parseServerName,
  parseServerNameParts,
  parseUserId,
  roomAliasServerName,
  roomIdFromCreateEventId,
  roomIdServerName,
  userLocalpart,
  userServerName,
  type EventId,
  type ServerName,
  type UserId,
} from './index.ts';

const HASH = 'b3tOUX8xQBm1sCO5nM3_29t9zsIqsOly2d6sLXXi2Ps';

describe('server names', () => {
  it('accepts the spec examples', () => {
    expect(parseServerNameParts('matrix.org')).toEqual({ ok: true, value: { host: 'matrix.org', port: undefined, kind: 'dns' } });
    expect(parseServerNameParts('matrix.org:8888')).toEqual({ ok: true, value: { host: 'matrix.org', port: 8888, kind: 'dns' } });
    expect(parseServerNameParts('1.2.3.4')).toEqual({ ok: true, value: { host: '1.2.3.4', port: undefined, kind: 'ipv4' } });
    expect(parseServerNameParts('1.2.3.4:1234').ok).toBe(true);
    expect(parseServerNameParts('[1234:5678::abcd]')).toEqual({ ok: true, value: { host: '[1234:5678::abcd]', port: undefined, kind: 'ipv6' } });
    expect(parseServerNameParts('[1234:5678::abcd]:5678')).toEqual({ ok: true, value: { host: '[1234:5678::abcd]', port: 5678, kind: 'ipv6' } });
    for (const name of ['localhost', 'MATRIX.org', '[::1]', '[::ffff:1.2.3.4]', '[1:2:3:4:5:6:7:8]', 'a-b.c']) {
      expect(parseServerName(name).ok, name).toBe(true);
    }
  });

  it('rejects names outside the grammar with a message', () => {
    for (const name of ['', 'matrix.org:', 'matrix.org:123456', 'matrix.org:80a', 'ex ample.org', 'exämple.org', 'a:b:c',
      '[1234:5678::abcd', '[1::2::3]', '[1:2:3:4:5:6:7:8:9]', '[12345::]', '[::1]x', '1.2.3.256', 'a'.repeat(256)]) {
      const result = parseServerName(name);
      expect(result.ok, name).toBe(false);
      if (!result.ok) expect(result.error).toMatch(/server name/);
    }
  });
});

describe('user ids', () => {
  it('accepts current and historical ids, and can demand the current grammar', () => {
    expect(parseUserId('@alice:example.org')).toEqual({ ok: true, value: '@alice:example.org' });
    expect(parseUserId('@a.b_c=d-e/f+g:[::1]:8448').ok).toBe(true);
    // Historical: upper case, other symbols, non-ASCII, even empty localparts must be accepted.
    for (const id of ['@Alice:example.org', '@ali ce!:example.org', '@日本:example.org', '@:example.org']) {
      expect(parseUserId(id).ok, id).toBe(true);
      expect(parseUserId(id, { compliant: true }).ok, id).toBe(false);
    }
    expect(isCompliantUserId('@Alice:example.org' as UserId)).toBe(true);
    expect(isCompliantUserId('@日本:example.org' as UserId)).toBe(false);
  });

  it('rejects ids that are not user ids', () => {
    for (const id of ['alice:example.org', '@alice', '@alice:', '@al\u0000ice:example.org', '@alice:exa mple.org', `@${'a'.repeat(250)}:example.org`]) {
      expect(parseUserId(id).ok, id).toBe(false);
    }
  });

  it('splits and builds ids', () => {
    const id = '@alice:example.org:8448' as UserId;
    expect(userLocalpart(id)).toBe('alice');
    expect(userServerName(id)).toBe('example.org:8448');
    expect(makeUserId('bob', 'example.org' as ServerName)).toEqual({ ok: true, value: '@bob:example.org' });
    expect(makeUserId('Bob', 'example.org' as ServerName).ok).toBe(false);
    expect(isValidLocalpart('a.b_c=d-e/f+g9')).toBe(true);
    for (const localpart of ['', 'A', 'a b', 'a:b', 'é', 'a*']) expect(isValidLocalpart(localpart), localpart).toBe(false);
  });
});

describe('room ids', () => {
  it('accepts !opaque:domain and the v12 !hash form, and can require either', () => {
    expect(parseRoomId('!abc:example.org')).toEqual({ ok: true, value: '!abc:example.org' });
    expect(parseRoomId(`!${HASH}`)).toEqual({ ok: true, value: `!${HASH}` });
    expect(parseRoomId(`!${HASH}`, 'domain').ok).toBe(false);
    expect(parseRoomId('!abc:example.org', 'hash').ok).toBe(false);
    for (const id of ['abc:example.org', '!abc', '!abc:', '!a\u0000b:example.org', `!${HASH}x`, `!${'a'.repeat(260)}:example.org`]) {
      expect(parseRoomId(id).ok, id).toBe(false);
    }
  });

  it('maps between the v12 room id and its create event id', () => {
    const roomId = roomIdFromCreateEventId(`$${HASH}` as EventId);
    expect(roomId).toBe(`!${HASH}`);
    expect(createEventIdOfRoom(roomId)).toBe(`$${HASH}`);
    expect(roomIdServerName(roomId)).toBeUndefined();
    const legacy = parseRoomId('!abc:example.org');
    if (!legacy.ok) throw new Error(legacy.error);
    expect(roomIdServerName(legacy.value)).toBe('example.org');
    expect(createEventIdOfRoom(legacy.value)).toBeUndefined();
  });
});

describe('event ids', () => {
  it('checks the shape each room version uses', () => {
    expect(parseEventId('$anything').ok).toBe(true);
    expect(parseEventId('$abc:example.org', 'originChosen').ok).toBe(true);
    expect(parseEventId('$abc', 'originChosen').ok).toBe(false);
    expect(parseEventId('$RrGxF28UrHLmoASHndYb9Jb/1SFww2ptmtur9INS438', 'referenceHashBase64').ok).toBe(true);
    expect(parseEventId('$RrGxF28UrHLmoASHndYb9Jb/1SFww2ptmtur9INS438', 'referenceHashUrlSafeBase64').ok).toBe(false);
    expect(parseEventId('$RrGxF28UrHLmoASHndYb9Jb_1SFww2ptmtur9INS438', 'referenceHashUrlSafeBase64').ok).toBe(true);
    for (const id of ['', '$', 'abc', '$a\u0000', `$${'a'.repeat(255)}`]) expect(parseEventId(id).ok, id).toBe(false);
  });
});

describe('room aliases', () => {
  it('accepts #localpart:domain within 255 bytes', () => {
    expect(parseRoomAlias('#room:example.org')).toEqual({ ok: true, value: '#room:example.org' });
    expect(parseRoomAlias('#Räume!:example.org').ok).toBe(true);
    const alias = parseRoomAlias('#a:example.org:8448');
    if (!alias.ok) throw new Error(alias.error);
    expect(roomAliasServerName(alias.value)).toBe('example.org:8448');
    // 255 bytes counts UTF-8: 125 × 'ä' is 250 bytes (125 code units), plus sigil and domain.
    expect(parseRoomAlias(`#${'ä'.repeat(125)}:example.org`).ok).toBe(false);
    for (const bad of ['room:example.org', '#room', '#room:bad host']) expect(parseRoomAlias(bad).ok, bad).toBe(false);
  });
});
