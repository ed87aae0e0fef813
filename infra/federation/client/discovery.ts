/**
 * The I/O behind server discovery (domain/federation/discovery.ts holds the steps): DNS SRV
 * queries, address lookups, and the `/.well-known/matrix/server` fetch over HTTPS with redirects.
 */
import { Resolver, lookup as dnsLookup } from 'node:dns/promises';
import { WELL_KNOWN_CACHE, type CacheHeaders, type JsonValue, type SrvRecord, type WellKnownFetch } from '../../../domain/index.ts';
import { exchange, FederationClientError, type HttpsGuards, type HttpsResponse } from './https.ts';
import { parseJsonBytes } from './json.ts';

/** Answers that mean "no such record", as opposed to a resolver that failed. */
const NO_RECORDS = new Set(['ENOTFOUND', 'ENODATA', 'NXDOMAIN', 'ENONAME']);

/** SRV records through the system's resolvers; empty when the name has none. */
export const createSrvLookup = (options: { timeoutMs: number }): ((name: string) => Promise<readonly SrvRecord[]>) => {
  const resolver = new Resolver({ timeout: options.timeoutMs, tries: 2 });
  return async (name) => {
    try {
      return await resolver.resolveSrv(name);
    } catch (error) {
      if (NO_RECORDS.has((error as NodeJS.ErrnoException).code ?? '')) return [];
      throw new FederationClientError('resolve', `SRV lookup of ${name} failed: ${(error as Error).message}`, { cause: error });
    }
  };
};

/** Every address of a hostname (getaddrinfo: /etc/hosts, CNAME, AAAA, A), in the system's order. */
export const systemAddressLookup = async (hostname: string): Promise<readonly string[]> =>
  (await dnsLookup(hostname, { all: true, order: 'verbatim' })).map((entry) => entry.address);

/** Redirects followed for one `.well-known` fetch (RFC 9110 leaves the bound to the client). */
const MAX_REDIRECTS = 10;

const cacheHeadersOf = (headers: Record<string, string | string[] | undefined>): CacheHeaders => {
  const cacheControl = headers['cache-control'];
  const expires = headers.expires;
  return {
    cacheControl: cacheControl === undefined ? [] : Array.isArray(cacheControl) ? cacheControl : [cacheControl],
    expires: Array.isArray(expires) ? expires[expires.length - 1] : expires,
  };
};

/**
 * GET `https://<hostname>/.well-known/matrix/server` (§ Resolving server names step 3), following
 * 30x redirects to other HTTPS URLs, never one already visited, at most MAX_REDIRECTS. Every hop is
 * an HTTPS exchange with the usual guards (address policy, certificates, time, size).
 */
export const fetchWellKnown = async (hostname: string, guards: HttpsGuards, userAgent: string, port = 443): Promise<WellKnownFetch> => {
  const wellKnownGuards: HttpsGuards = { ...guards, maxResponseBytes: WELL_KNOWN_CACHE.maxBodyBytes, tooLarge: 'undefined' };
  // The port is 443 but for tests, which cannot listen there.
  let url = new URL(`https://${hostname.includes(':') ? `[${hostname}]` : hostname}:${port}/.well-known/matrix/server`);
  const visited = new Set<string>();
  for (let hop = 0; ; hop++) {
    visited.add(url.href);
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    let response: HttpsResponse;
    try {
      response = await exchange(
        {
          host,
          port: url.port === '' ? 443 : Number(url.port),
          method: 'GET',
          path: `${url.pathname}${url.search}`,
          headers: { Host: url.host, 'User-Agent': userAgent, Accept: 'application/json' },
          tlsName: host,
        },
        wellKnownGuards,
      );
    } catch (error) {
      return { kind: 'unreachable', reason: (error as Error).message };
    }
    const { status, headers, body } = response;
    if (status >= 300 && status < 400 && typeof headers.location === 'string') {
      let next: URL;
      try {
        next = new URL(headers.location, url);
      } catch {
        return { kind: 'response', status, body: undefined, headers: cacheHeadersOf(headers) };
      }
      if (next.protocol !== 'https:' || visited.has(next.href) || hop >= MAX_REDIRECTS) {
        return { kind: 'response', status, body: undefined, headers: cacheHeadersOf(headers) };
      }
      url = next;
      continue;
    }
    // A 5xx says the server is there but failing: possibly temporary, like no answer at all.
    if (status >= 500) return { kind: 'unreachable', reason: `${url.href} answered ${status}` };
    let json: JsonValue | undefined;
    if (body !== undefined && status === 200) {
      const parsed = parseJsonBytes(body);
      json = parsed.ok ? parsed.value : undefined;
    }
    return { kind: 'response', status, body: json, headers: cacheHeadersOf(headers) };
  }
};
