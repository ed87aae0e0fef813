import { describe, expect, it } from 'vitest';
import {
  WELL_KNOWN_CACHE,
  cachePeriodFromHeaders,
  cachedWellKnown,
  orderSrvRecords,
  parseWellKnownServer,
  resolveServerName,
  type DiscoveryLookups,
  type SrvRecord,
  type WellKnownFetch,
} from './discovery.ts';

interface Fakes {
  wellKnown?: Record<string, string>;
  srv?: Record<string, SrvRecord[]>;
}

const lookups = (fakes: Fakes, asked: string[] = []): DiscoveryLookups => ({
  wellKnown: async (hostname) => {
    asked.push(`well-known ${hostname}`);
    return fakes.wellKnown?.[hostname];
  },
  srv: async (name) => {
    asked.push(`srv ${name}`);
    return fakes.srv?.[name] ?? [];
  },
  random: () => 0.5,
});

const srv = (name: string, port: number, priority = 10, weight = 0): SrvRecord => ({ name, port, priority, weight });

describe('resolving server names (§ Resolving server names)', () => {
  it('step 1: an IPv4 literal, with or without port, is used as is, Host = server name, no SNI', async () => {
    const asked: string[] = [];
    expect(await resolveServerName('127.0.0.1:8008', lookups({}, asked))).toEqual({
      ok: true,
      value: { serverName: '127.0.0.1:8008', targets: [{ host: '127.0.0.1', port: 8008 }], hostHeader: '127.0.0.1:8008', tlsName: '127.0.0.1', tlsNameIsIp: true, step: 'ip literal' },
    });
    expect(await resolveServerName('192.0.2.1', lookups({}, asked))).toMatchObject({ ok: true, value: { targets: [{ host: '192.0.2.1', port: 8448 }], hostHeader: '192.0.2.1' } });
    expect(asked).toEqual([]);
  });

  it('step 1: an IPv6 literal connects without brackets and keeps them in Host', async () => {
    expect(await resolveServerName('[2001:db8::1]:443', lookups({}))).toMatchObject({
      ok: true, value: { targets: [{ host: '2001:db8::1', port: 443 }], hostHeader: '[2001:db8::1]:443', tlsName: '2001:db8::1', tlsNameIsIp: true },
    });
    expect(await resolveServerName('[::1]', lookups({}))).toMatchObject({ ok: true, value: { targets: [{ host: '::1', port: 8448 }] } });
  });

  it('step 2: an explicit port skips delegation: the hostname itself, Host = server name', async () => {
    const asked: string[] = [];
    expect(await resolveServerName('example.org:8443', lookups({ wellKnown: { 'example.org': 'other.org' } }, asked))).toMatchObject({
      ok: true, value: { targets: [{ host: 'example.org', port: 8443 }], hostHeader: 'example.org:8443', tlsName: 'example.org', tlsNameIsIp: false, step: 'explicit port' },
    });
    expect(asked).toEqual([]);
  });

  it('step 3.1: delegation to an IP literal uses it, Host = the delegated name', async () => {
    expect(await resolveServerName('example.org', lookups({ wellKnown: { 'example.org': '[2001:db8::2]:8449' } }))).toMatchObject({
      ok: true, value: { serverName: 'example.org', targets: [{ host: '2001:db8::2', port: 8449 }], hostHeader: '[2001:db8::2]:8449', tlsName: '2001:db8::2', tlsNameIsIp: true, step: 'well-known ip literal' },
    });
    expect(await resolveServerName('example.org', lookups({ wellKnown: { 'example.org': '198.51.100.7' } }))).toMatchObject({
      ok: true, value: { targets: [{ host: '198.51.100.7', port: 8448 }], hostHeader: '198.51.100.7' },
    });
  });

  it('step 3.2: delegation with a port: the delegated hostname and port, no SRV', async () => {
    const asked: string[] = [];
    expect(await resolveServerName('example.org', lookups({ wellKnown: { 'example.org': 'matrix.example.org:443' } }, asked))).toMatchObject({
      ok: true, value: { targets: [{ host: 'matrix.example.org', port: 443 }], hostHeader: 'matrix.example.org:443', tlsName: 'matrix.example.org', step: 'well-known explicit port' },
    });
    expect(asked).toEqual(['well-known example.org']);
  });

  it('step 3.3: delegation without port: SRV _matrix-fed._tcp of the delegated name; Host and certificate are the delegated name, not the SRV target', async () => {
    const asked: string[] = [];
    const fakes = { wellKnown: { 'example.org': 'matrix.example.org' }, srv: { '_matrix-fed._tcp.matrix.example.org': [srv('fed.host.net.', 8450)] } };
    expect(await resolveServerName('example.org', lookups(fakes, asked))).toMatchObject({
      ok: true, value: { targets: [{ host: 'fed.host.net', port: 8450 }], hostHeader: 'matrix.example.org', tlsName: 'matrix.example.org', tlsNameIsIp: false, step: 'srv' },
    });
    expect(asked).toEqual(['well-known example.org', 'srv _matrix-fed._tcp.matrix.example.org']);
  });

  it('step 3.4: then the deprecated _matrix._tcp; step 3.5: then the delegated name on 8448', async () => {
    const asked: string[] = [];
    const fakes = { wellKnown: { 'example.org': 'matrix.example.org' }, srv: { '_matrix._tcp.matrix.example.org': [srv('old.host.net', 8451)] } };
    expect(await resolveServerName('example.org', lookups(fakes, asked))).toMatchObject({ ok: true, value: { targets: [{ host: 'old.host.net', port: 8451 }], hostHeader: 'matrix.example.org' } });
    expect(asked).toEqual(['well-known example.org', 'srv _matrix-fed._tcp.matrix.example.org', 'srv _matrix._tcp.matrix.example.org']);
    expect(await resolveServerName('example.org', lookups({ wellKnown: { 'example.org': 'matrix.example.org' } }))).toMatchObject({
      ok: true, value: { targets: [{ host: 'matrix.example.org', port: 8448 }], hostHeader: 'matrix.example.org', tlsName: 'matrix.example.org', step: 'default port' },
    });
  });

  it('steps 4–6: no delegation: SRV of the hostname, the deprecated SRV, then 8448', async () => {
    expect(await resolveServerName('example.org', lookups({ srv: { '_matrix-fed._tcp.example.org': [srv('a.net', 1)], '_matrix._tcp.example.org': [srv('b.net', 2)] } }))).toMatchObject({
      ok: true, value: { targets: [{ host: 'a.net', port: 1 }], hostHeader: 'example.org', tlsName: 'example.org' },
    });
    expect(await resolveServerName('example.org', lookups({ srv: { '_matrix._tcp.example.org': [srv('b.net', 2)] } }))).toMatchObject({ ok: true, value: { targets: [{ host: 'b.net', port: 2 }] } });
    expect(await resolveServerName('example.org', lookups({}))).toMatchObject({ ok: true, value: { targets: [{ host: 'example.org', port: 8448 }], hostHeader: 'example.org', step: 'default port' } });
  });

  it('an invalid delegated name counts as no delegation', async () => {
    expect(await resolveServerName('example.org', lookups({ wellKnown: { 'example.org': 'bad name' } }))).toMatchObject({ ok: true, value: { targets: [{ host: 'example.org', port: 8448 }] } });
    expect(await resolveServerName('example.org', lookups({ wellKnown: { 'example.org': 'a.org:99999' } }))).toMatchObject({ ok: true, value: { step: 'default port' } });
  });

  it('refuses invalid server names and ports, and an SRV record saying "not here"', async () => {
    expect((await resolveServerName('bad name', lookups({}))).ok).toBe(false);
    expect((await resolveServerName('a.org:70000', lookups({}))).ok).toBe(false);
    expect((await resolveServerName('a.org:0', lookups({}))).ok).toBe(false);
    expect((await resolveServerName('a.org', lookups({ srv: { '_matrix-fed._tcp.a.org': [srv('.', 0)] } }))).ok).toBe(false);
  });
});

describe('ordering SRV records (RFC 2782)', () => {
  it('orders by priority, then by weighted draw', () => {
    const records = [srv('c', 3, 20), srv('a', 1, 10, 0), srv('b', 2, 10, 100)];
    // A draw of 0.5 out of 101 lands on b (weights run 0, 100); then a is the only one left.
    expect(orderSrvRecords(records, () => 0.5)).toEqual({ ok: true, value: [{ host: 'b', port: 2 }, { host: 'a', port: 1 }, { host: 'c', port: 3 }] });
    // A draw of 0 lands on the weight-0 record first.
    expect(orderSrvRecords(records, () => 0)).toEqual({ ok: true, value: [{ host: 'a', port: 1 }, { host: 'b', port: 2 }, { host: 'c', port: 3 }] });
  });

  it('drops unusable records', () => {
    expect(orderSrvRecords([srv('a', 0), srv('b', 70000), srv('c', 5)], () => 0)).toEqual({ ok: true, value: [{ host: 'c', port: 5 }] });
  });
});

describe('.well-known/matrix/server', () => {
  it('parses m.server as a server name', () => {
    expect(parseWellKnownServer({ 'm.server': 'matrix.example.org:443' })).toBe('matrix.example.org:443');
    expect(parseWellKnownServer({ 'm.server': 'bad name' })).toBeUndefined();
    expect(parseWellKnownServer({ 'm.server': 1 })).toBeUndefined();
    expect(parseWellKnownServer({})).toBeUndefined();
    expect(parseWellKnownServer(['m.server'])).toBeUndefined();
  });

  it('reads cache periods from Cache-Control and Expires', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(cachePeriodFromHeaders({ cacheControl: ['public, max-age=600'], expires: undefined }, now)).toBe(600_000);
    expect(cachePeriodFromHeaders({ cacheControl: ['no-store', 'max-age=600'], expires: undefined }, now)).toBe(0);
    expect(cachePeriodFromHeaders({ cacheControl: ['MAX-AGE="60"'], expires: undefined }, now)).toBe(60_000);
    expect(cachePeriodFromHeaders({ cacheControl: [], expires: 'Thu, 01 Jan 2026 02:00:00 GMT' }, now)).toBe(7200_000);
    expect(cachePeriodFromHeaders({ cacheControl: ['max-age=abc'], expires: '0' }, now)).toBe(0);
    expect(cachePeriodFromHeaders({ cacheControl: [], expires: undefined }, now)).toBeUndefined();
  });

  const ok = (server: string, cacheControl: string[] = []): WellKnownFetch => ({ kind: 'response', status: 200, body: { 'm.server': server }, headers: { cacheControl, expires: undefined } });
  const notFound: WellKnownFetch = { kind: 'response', status: 404, body: undefined, headers: { cacheControl: [], expires: undefined } };
  const down: WellKnownFetch = { kind: 'unreachable', reason: 'refused' };

  const harness = (answers: WellKnownFetch[]) => {
    let now = 1_000_000;
    let fetches = 0;
    const lookup = cachedWellKnown({
      fetch: async () => {
        fetches += 1;
        return answers.shift() ?? down;
      },
      now: () => now,
      random: () => 0.5,
    });
    return { lookup, advance: (ms: number) => (now += ms), fetches: () => fetches };
  };

  it('caches a valid answer 24 h by default, refetching in its last fifth', async () => {
    const h = harness([ok('a.org'), ok('b.org')]);
    expect(await h.lookup('x.org')).toBe('a.org');
    h.advance(WELL_KNOWN_CACHE.defaultMs * 0.79);
    expect(await h.lookup('x.org')).toBe('a.org');
    expect(h.fetches()).toBe(1);
    h.advance(WELL_KNOWN_CACHE.defaultMs * 0.02);
    expect(await h.lookup('x.org')).toBe('b.org');
    expect(h.fetches()).toBe(2);
  });

  it('respects max-age within 5 minutes and 48 hours', async () => {
    const h = harness([ok('a.org', ['max-age=10']), ok('b.org', ['max-age=999999999']), ok('c.org')]);
    expect(await h.lookup('x.org')).toBe('a.org');
    h.advance(WELL_KNOWN_CACHE.minMs * 0.79);
    expect(await h.lookup('x.org')).toBe('a.org');
    h.advance(WELL_KNOWN_CACHE.minMs * 0.22);
    expect(await h.lookup('x.org')).toBe('b.org');
    h.advance(WELL_KNOWN_CACHE.maxMs * 0.81);
    expect(await h.lookup('x.org')).toBe('c.org');
  });

  it('caches an invalid answer for an hour', async () => {
    const h = harness([notFound, ok('a.org')]);
    expect(await h.lookup('x.org')).toBeUndefined();
    h.advance(WELL_KNOWN_CACHE.invalidMs * 0.7);
    expect(await h.lookup('x.org')).toBeUndefined();
    expect(h.fetches()).toBe(1);
    h.advance(WELL_KNOWN_CACHE.invalidMs * 0.5);
    expect(await h.lookup('x.org')).toBe('a.org');
  });

  it('keeps serving a valid answer through a temporary failure near its expiry, then caches the failure briefly', async () => {
    const h = harness([ok('a.org', ['max-age=3600']), down, down, ok('b.org')]);
    expect(await h.lookup('x.org')).toBe('a.org');
    h.advance(3600_000 * 0.9);
    expect(await h.lookup('x.org')).toBe('a.org');
    h.advance(3600_000 * 0.2);
    // Expired: the failure is cached, for 2 minutes since the name had a valid answer recently.
    expect(await h.lookup('x.org')).toBeUndefined();
    h.advance(WELL_KNOWN_CACHE.downMs * 0.5);
    expect(await h.lookup('x.org')).toBeUndefined();
    expect(h.fetches()).toBe(3);
    h.advance(WELL_KNOWN_CACHE.downMs * 0.6);
    expect(await h.lookup('x.org')).toBe('b.org');
  });

  it('shares one fetch between concurrent lookups of a name', async () => {
    const h = harness([ok('a.org'), ok('b.org')]);
    expect(await Promise.all([h.lookup('x.org'), h.lookup('x.org'), h.lookup('x.org')])).toEqual(['a.org', 'a.org', 'a.org']);
    expect(h.fetches()).toBe(1);
    expect(await h.lookup('y.org')).toBe('b.org');
    expect(h.fetches()).toBe(2);
  });

  it('does not cache no-store below the 5 minute floor', async () => {
    const h = harness([ok('a.org', ['no-store']), ok('b.org')]);
    expect(await h.lookup('x.org')).toBe('a.org');
    h.advance(60_000);
    expect(await h.lookup('x.org')).toBe('a.org');
  });
});
