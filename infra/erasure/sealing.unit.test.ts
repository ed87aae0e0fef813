import { describe, expect, it } from 'vitest';
import type { LogValue } from '../../domain/index.ts';
import { newDataKey, newKeyId, openRecord, randomDraw, sealableRecord, sealRecord } from './sealing.ts';

const MARKER = 'secret-marker-7f3a';

const accepted = (pdu: Record<string, unknown>, roomVersion = '10'): LogValue => ({
  type: 'pdu.accepted', v: 2, roomId: '!r:example.org', roomVersion, eventId: '$e1',
  pdu: pdu as LogValue, stateDelta: [], prevAcceptedEventId: null, forwardExtremities: ['$e1'],
  local: { userId: '@alice:example.org', deviceId: 'D', txnId: 't1' }, acceptedAt: 1, redaction: null, redactedBy: [],
} as unknown as LogValue);

const message = {
  type: 'm.room.message', room_id: '!r:example.org', sender: '@alice:example.org', depth: 3, origin_server_ts: 5,
  prev_events: ['$p'], auth_events: ['$a'], hashes: { sha256: 'h' }, signatures: { 'example.org': { 'ed25519:k': 's' } },
  content: { msgtype: 'm.text', body: `hello ${MARKER} \u0000 é` },
};
const member = {
  ...message, type: 'm.room.member', state_key: '@alice:example.org',
  content: { membership: 'join', displayname: `Alice ${MARKER}`, avatar_url: 'mxc://example.org/a' },
};

const seal = (value: LogValue) => {
  const record = sealableRecord(value)!;
  const key = newDataKey();
  const kid = newKeyId();
  return { sealed: sealRecord(value, record, kid, key), key, kid };
};

describe('the sealed record format', () => {
  it('keeps the redacted PDU in clear and nothing of the content', () => {
    const { sealed, kid } = seal(accepted(member));
    const text = JSON.stringify(sealed);
    expect(text).not.toContain(MARKER);
    expect(text).not.toContain('displayname');
    const value = sealed as Record<string, unknown>;
    expect(value.pdu).toEqual({ ...member, content: { membership: 'join' } });
    expect(value.sealed).toMatchObject({ v: 1, alg: 'A256GCM', kid });
    // Everything but the PDU stays as appended.
    expect(value).toMatchObject({ type: 'pdu.accepted', v: 2, eventId: '$e1', local: { txnId: 't1' }, redactedBy: [] });
  });

  it('opens to the record exactly as appended while the key exists', () => {
    const original = accepted(message);
    const { sealed, key } = seal(original);
    expect(openRecord(sealed, key)).toEqual(original);
    // U+0000 and non-ASCII survive exactly.
    expect(JSON.stringify((openRecord(sealed, key) as { pdu: LogValue }).pdu)).toBe(JSON.stringify(message));
  });

  it('reads as the redacted record once the key is destroyed', () => {
    const { sealed } = seal(accepted(message));
    const opened = openRecord(sealed, undefined) as Record<string, unknown>;
    expect(opened.sealed).toBeUndefined();
    expect(opened.pdu).toEqual({ ...message, content: {} });
  });

  it('a ciphertext under another key, tampered with, or moved to another event does not open', () => {
    const { sealed, key } = seal(accepted(message));
    expect(() => openRecord(sealed, newDataKey())).toThrow();
    const value = sealed as { sealed: { ct: string } };
    const ct = Buffer.from(value.sealed.ct, 'base64url');
    ct[0] = ct[0]! ^ 1;
    expect(() => openRecord({ ...value, sealed: { ...value.sealed, ct: ct.toString('base64url') } } as unknown as LogValue, key)).toThrow();
    expect(() => openRecord({ ...(sealed as object), eventId: '$other' } as unknown as LogValue, key)).toThrow();
  });

  it('leaves alone what carries no PDU or an unknown room version', () => {
    expect(sealableRecord({ type: 'pdu.rejected', v: 1, roomId: '!r', eventId: '$x', reason: 'r', rejectedAt: 1 })).toBeUndefined();
    expect(sealableRecord(accepted(message, 'org.example.unknown'))).toBeUndefined();
    expect(sealableRecord({ type: 'server.started', v: 1 })).toBeUndefined();
    expect(openRecord({ type: 'server.started', v: 1 }, undefined)).toEqual({ type: 'server.started', v: 1 });
    const { sealed } = seal(accepted(message));
    expect(sealableRecord(sealed)).toBeUndefined();
  });

  it('seals soft-failed events too', () => {
    const softFailed = { type: 'pdu.softFailed', v: 1, roomId: '!r:example.org', roomVersion: '10', eventId: '$e1', pdu: message, reason: 'x', acceptedAt: 1 };
    const { sealed, key } = seal(softFailed as unknown as LogValue);
    expect(JSON.stringify(sealed)).not.toContain(MARKER);
    expect(openRecord(sealed, key)).toEqual(softFailed);
  });
});

describe('random draws from the pool', () => {
  it('never hands out the same bytes twice, across refills, and each draw is its own copy', () => {
    const draws = Array.from({ length: 1000 }, (_, i) => randomDraw([12, 16, 32][i % 3]!));
    expect(draws.map((draw) => draw.length)).toEqual(Array.from({ length: 1000 }, (_, i) => [12, 16, 32][i % 3]));
    expect(new Set(draws.map((draw) => draw.toString('hex'))).size).toBe(1000);
    const kept = Buffer.from(draws[0]!);
    for (let i = 0; i < 500; i++) randomDraw(32); // refills the pool several times
    expect(draws[0]).toEqual(kept);
  });

  it('serves a draw larger than the pool from the generator directly', () => {
    const big = randomDraw(10_000);
    expect(big.length).toBe(10_000);
    expect(big.equals(Buffer.alloc(10_000))).toBe(false);
  });
});
