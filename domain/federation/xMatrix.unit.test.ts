import { describe, expect, it } from 'vitest';
import { signingKeyFromSeed, signJson } from '../events/index.ts';
import {
  X_MATRIX_LIMITS,
  checkXMatrixClaim,
  parseXMatrixHeader,
  readXMatrixClaim,
  renderXMatrixHeader,
  requestJson,
  signXMatrixRequest,
  verifyXMatrixRequest,
  type FederationKeyLookup,
} from './xMatrix.ts';

const origin = signingKeyFromSeed('origin.hs.example.com', 'ed25519:key1', new Uint8Array(32).fill(7));
const other = signingKeyFromSeed('origin.hs.example.com', 'ed25519:key2', new Uint8Array(32).fill(8));
const DESTINATION = 'destination.hs.example.com';

const lookupOf = (...keys: (typeof origin)[]): FederationKeyLookup => async (serverName, keyId) =>
  keys.find((key) => key.serverName === serverName && key.keyId === keyId)?.publicKeyBase64;

const signed = (content?: object, method = 'POST', uri = '/target') =>
  signXMatrixRequest({ method, uri, destination: DESTINATION, ...(content === undefined ? {} : { content: content as never }) }, origin);

describe('X-Matrix signing', () => {
  it('renders the spec example shape: one space after the scheme, lower-case names, quoted values, no spaces around commas', () => {
    const header = signed({ a: 1 });
    expect(header).toMatch(/^X-Matrix origin="origin\.hs\.example\.com",destination="destination\.hs\.example\.com",key="ed25519:key1",sig="[A-Za-z0-9+/]{86}"$/);
  });

  it('signs the JSON object of § Request Authentication step 1 (method, uri, origin, destination, content)', () => {
    const header = signed({ a: 1 });
    const sig = parseXMatrixHeader(header);
    expect(sig.ok).toBe(true);
    // The same signature comes out of the domain's JSON signing over the spec's object.
    const json = signJson(requestJson({ method: 'POST', uri: '/target', origin: origin.serverName, destination: DESTINATION, content: { a: 1 } }), origin, { strict: false });
    expect(sig.ok && sig.value.sig).toBe((json.signatures as Record<string, Record<string, string>>)[origin.serverName]!['ed25519:key1']);
    expect(requestJson({ method: 'GET', uri: '/x', origin: 'a', destination: 'b' })).toEqual({ method: 'GET', uri: '/x', origin: 'a', destination: 'b' });
  });

  it('refuses to render a value that would need escaping', () => {
    expect(() => renderXMatrixHeader({ origin: 'a"b', destination: 'd', key: 'k', sig: 's' })).toThrow(/unescaped/);
  });
});

describe('X-Matrix header parsing', () => {
  it('parses quoted and unquoted values, any order, case-insensitive names and scheme, spaces and tabs around commas', () => {
    expect(parseXMatrixHeader('X-Matrix origin=origin.example,destination=dest.example,key=ed25519:1,sig=abc/+d')).toEqual({
      ok: true, value: { origin: 'origin.example', destination: 'dest.example', key: 'ed25519:1', sig: 'abc/+d' },
    });
    expect(parseXMatrixHeader('x-matrix   SIG="s" \t, Key = "ed25519:1" ,\tORIGIN="o.example:8448"')).toEqual({
      ok: true, value: { origin: 'o.example:8448', destination: undefined, key: 'ed25519:1', sig: 's' },
    });
  });

  it('unescapes backslash pairs in quoted values and ignores unknown parameters and empty list elements', () => {
    expect(parseXMatrixHeader('X-Matrix origin="o\\.example",,key="ed25519:\\1",sig="a\\"b",realm="x, y",extra=1,')).toEqual({
      ok: true, value: { origin: 'o.example', destination: undefined, key: 'ed25519:1', sig: 'a"b' },
    });
  });

  it('parses IPv6 literal origins with ports', () => {
    const parsed = parseXMatrixHeader('X-Matrix origin="[::1]:8448",key="ed25519:1",sig="s"');
    expect(parsed.ok && parsed.value.origin).toBe('[::1]:8448');
  });

  it.each([
    ['another scheme', 'Bearer abc'],
    ['no space after the scheme', 'X-Matrixorigin=a,key=k,sig=s'],
    ['a missing sig', 'X-Matrix origin=a,key=ed25519:1'],
    ['a missing key', 'X-Matrix origin=a,sig=s'],
    ['a missing origin', 'X-Matrix key=ed25519:1,sig=s'],
    ['an invalid origin', 'X-Matrix origin="not a server",key=ed25519:1,sig=s'],
    ['an origin with a bad port', 'X-Matrix origin=a.example:port,key=ed25519:1,sig=s'],
    ['an unterminated quote', 'X-Matrix origin="a,key=ed25519:1,sig=s'],
    ['a dangling escape', 'X-Matrix origin=a,key=ed25519:1,sig="s\\'],
    ['a control character', 'X-Matrix origin=a,key=ed25519:1,sig="s\u0001"'],
    ['a name without value', 'X-Matrix origin,key=ed25519:1,sig=s'],
    ['an empty unquoted value', 'X-Matrix origin=,key=ed25519:1,sig=s'],
    ['junk after a value', 'X-Matrix origin="a" junk,key=ed25519:1,sig=s'],
    ['a repeated parameter', 'X-Matrix origin=a,origin=b,key=ed25519:1,sig=s'],
    ['a space inside an unquoted value', 'X-Matrix origin=a b,key=ed25519:1,sig=s'],
    ['an over-long value', `X-Matrix origin=a,key=ed25519:1,sig="${'s'.repeat(X_MATRIX_LIMITS.valueChars + 1)}"`],
    ['an over-long header', `X-Matrix origin=a,key=ed25519:1,sig=s,x="${'y'.repeat(X_MATRIX_LIMITS.headerChars)}"`],
    ['too many parameters', `X-Matrix origin=a,key=ed25519:1,sig=s,${Array.from({ length: X_MATRIX_LIMITS.params }, (_, i) => `p${i}=1`).join(',')}`],
  ])('refuses %s', (_what, header) => {
    expect(parseXMatrixHeader(header).ok).toBe(false);
  });
});

describe('X-Matrix claims', () => {
  const ours = (name: string) => name === DESTINATION;

  it('reads several Authorization headers as several signatures and skips other schemes', () => {
    const first = signed();
    const second = signXMatrixRequest({ method: 'POST', uri: '/target', destination: DESTINATION }, other);
    const claim = readXMatrixClaim(['Bearer token', first, second], ours);
    expect(claim.ok && [...claim.value.signatures.keys()]).toEqual(['ed25519:key1', 'ed25519:key2']);
  });

  it('answers missing, wrong destination and mixed origins', () => {
    expect(readXMatrixClaim([], ours)).toMatchObject({ ok: false, error: { kind: 'missing' } });
    expect(readXMatrixClaim(['Bearer x'], ours)).toMatchObject({ ok: false, error: { kind: 'missing' } });
    expect(readXMatrixClaim(['X-Matrix origin=a,destination=elsewhere,key=ed25519:1,sig=s'], ours)).toMatchObject({ ok: false, error: { kind: 'wrongDestination' } });
    expect(readXMatrixClaim(['X-Matrix origin=a,key=ed25519:1,sig=s', 'X-Matrix origin=b,key=ed25519:2,sig=s'], ours)).toMatchObject({ ok: false, error: { kind: 'malformed' } });
    expect(readXMatrixClaim(['X-Matrix origin=a,key=ed25519:1,sig=s', 'X-Matrix origin=a,key=ed25519:1,sig=t'], ours)).toMatchObject({ ok: false, error: { kind: 'malformed' } });
    expect(readXMatrixClaim(['X-Matrix origin=a"'], ours)).toMatchObject({ ok: false, error: { kind: 'malformed' } });
    expect(readXMatrixClaim(Array(X_MATRIX_LIMITS.headers + 1).fill('X-Matrix origin=a,key=ed25519:1,sig=s'), ours)).toMatchObject({ ok: false, error: { kind: 'malformed' } });
  });

  it('checks signatures: unknown keys are skipped, at least one must be known, every known one must verify', () => {
    const claim = readXMatrixClaim([signed({ a: 1 })], ours);
    if (!claim.ok) throw new Error('claim');
    const request = { method: 'POST', uri: '/target', content: { a: 1 } };
    expect(checkXMatrixClaim(claim.value, request, DESTINATION, new Map([['ed25519:key1', origin.publicKeyBase64]]))).toEqual({ ok: true, value: origin.serverName });
    expect(checkXMatrixClaim(claim.value, request, DESTINATION, new Map())).toMatchObject({ ok: false, error: { kind: 'unknownKey' } });
    expect(checkXMatrixClaim(claim.value, request, DESTINATION, new Map([['ed25519:key1', other.publicKeyBase64]]))).toMatchObject({ ok: false, error: { kind: 'badSignature' } });
  });
});

describe('verifying a request', () => {
  const verify = (authorization: string[], request: { method?: string; uri?: string; content?: unknown }, lookup = lookupOf(origin)) =>
    verifyXMatrixRequest(
      { authorization, method: request.method ?? 'POST', uri: request.uri ?? '/target', ...(request.content === undefined ? {} : { content: request.content as never }) },
      DESTINATION,
      lookup,
    );

  it('accepts a round trip with and without content, with a query string', async () => {
    expect(await verify([signed({ a: [1, 'x'] })], { content: { a: [1, 'x'] } })).toEqual({ ok: true, value: origin.serverName });
    const get = signXMatrixRequest({ method: 'GET', uri: '/_matrix/federation/v1/query/profile?user_id=%40a%3Ab&field=displayname', destination: DESTINATION }, origin);
    expect(await verify([get], { method: 'GET', uri: '/_matrix/federation/v1/query/profile?user_id=%40a%3Ab&field=displayname' })).toMatchObject({ ok: true });
  });

  it('refuses a tampered body, a missing or added body, another method or target', async () => {
    const header = signed({ a: 1 });
    expect(await verify([header], { content: { a: 2 } })).toMatchObject({ ok: false, error: { kind: 'badSignature' } });
    expect(await verify([header], {})).toMatchObject({ ok: false, error: { kind: 'badSignature' } });
    expect(await verify([signed()], { content: {} })).toMatchObject({ ok: false, error: { kind: 'badSignature' } });
    expect(await verify([header], { method: 'PUT', content: { a: 1 } })).toMatchObject({ ok: false, error: { kind: 'badSignature' } });
    expect(await verify([header], { uri: '/target?x=1', content: { a: 1 } })).toMatchObject({ ok: false, error: { kind: 'badSignature' } });
  });

  it('refuses a request signed for another destination, an unknown key, a key of another server', async () => {
    const elsewhere = signXMatrixRequest({ method: 'POST', uri: '/target', destination: 'elsewhere.example', content: {} }, origin);
    expect(await verify([elsewhere], { content: {} })).toMatchObject({ ok: false, error: { kind: 'wrongDestination' } });
    expect(await verify([signed({})], { content: {} }, lookupOf())).toMatchObject({ ok: false, error: { kind: 'unknownKey' } });
    expect(await verify([signed({})], { content: {} }, async () => other.publicKeyBase64)).toMatchObject({ ok: false, error: { kind: 'badSignature' } });
  });

  it('accepts a pre-v1.3 header without destination, signed for our name', async () => {
    const header = signed({ b: true });
    const withoutDestination = header.replace(`destination="${DESTINATION}",`, '');
    expect(withoutDestination).not.toContain('destination');
    expect(await verify([withoutDestination], { content: { b: true } })).toMatchObject({ ok: true });
  });

  it('does not ask the key ring for keys of an algorithm Matrix does not use', async () => {
    const asked: string[] = [];
    const result = await verify(['X-Matrix origin=origin.hs.example.com,key=rsa:1,sig=abc'], {}, async (_server, keyId) => {
      asked.push(keyId);
      return undefined;
    });
    expect(result).toMatchObject({ ok: false, error: { kind: 'unknownKey' } });
    expect(asked).toEqual([]);
  });
});
