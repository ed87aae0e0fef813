/**
 * Resolving a server name to where its federation API is served (server-server-api.md § Resolving
 * server names), as steps over injected lookups (the `.well-known` fetch and SRV queries are the
 * infrastructure's): IP literal → explicit port → `/.well-known/matrix/server` delegation (itself
 * resolved by IP literal, explicit port, SRV) → SRV `_matrix-fed._tcp` → deprecated `_matrix._tcp`
 * → port 8448. What comes out says where to connect, which `Host` header to send, and which name
 * the TLS certificate must be valid for: always the (delegated) server name, never an SRV target,
 * because DNS is not authenticated and only the certificate proves a target speaks for the name.
 */
import { BoundedMap } from '../boundedMap.ts';
import { isJsonObject, type JsonValue } from '../json.ts';
import { err, ok, parseServerNameParts, type Result } from '../ids/index.ts';

/** "8448 if no port is given" (§ Resolving server names; IANA `matrix-fed`). */
export const DEFAULT_FEDERATION_PORT = 8448;

export interface SrvRecord {
  readonly name: string;
  readonly port: number;
  readonly priority: number;
  readonly weight: number;
}

/** One place to connect: a hostname (to resolve with AAAA/A records) or an IP address, and a port. */
export interface ConnectTarget {
  /** A DNS name or an IP address without brackets. */
  readonly host: string;
  readonly port: number;
}

export interface ResolvedServer {
  /** The server name as given, which requests are signed for. */
  readonly serverName: string;
  /** Where to connect, in the order to try (several only from SRV records). */
  readonly targets: readonly ConnectTarget[];
  /** The `Host` header to send. */
  readonly hostHeader: string;
  /**
   * The name the server's certificate must be valid for: a DNS name (also sent as SNI) or an IP
   * address without brackets ("SNI is not supported and should not be sent", § TLS).
   */
  readonly tlsName: string;
  readonly tlsNameIsIp: boolean;
  /** Which step of the algorithm decided, for logs. */
  readonly step: 'ip literal' | 'explicit port' | 'well-known ip literal' | 'well-known explicit port' | 'srv' | 'default port';
}

export interface DiscoveryLookups {
  /**
   * The `m.server` of `https://<hostname>/.well-known/matrix/server`, or undefined when there is no
   * valid one (an error response, bad JSON, a missing property). Caching is the lookup's
   * (cachedWellKnown below).
   */
  wellKnown(hostname: string): Promise<string | undefined>;
  /** SRV records of a name; empty when it has none. */
  srv(name: string): Promise<readonly SrvRecord[]>;
  /** Uniform in [0, 1), for ordering SRV records of equal priority by weight (RFC 2782). */
  random(): number;
}

const validPort = (port: number | undefined): boolean => port === undefined || (port >= 1 && port <= 65535);

/** Splits a server name into host (IPv6 without brackets), port and kind; refuses ports past 65535. */
const partsOf = (name: string): Result<{ host: string; port: number | undefined; ip: boolean }> => {
  const parts = parseServerNameParts(name);
  if (!parts.ok) return parts;
  if (!validPort(parts.value.port)) return err(`server name ${JSON.stringify(name)}: port out of range`);
  const { host, port, kind } = parts.value;
  return ok({ host: kind === 'ipv6' ? host.slice(1, -1) : host, port, ip: kind !== 'dns' });
};

/**
 * Orders SRV records as RFC 2782 says: lowest priority first; within a priority, a weighted random
 * draw repeated over the records left (weight 0 records first in the draw's running sum, so they
 * are chosen rarely but not never). A single record whose target is `.` means "the service is
 * decidedly not available at this domain".
 */
export const orderSrvRecords = (records: readonly SrvRecord[], random: () => number): Result<ConnectTarget[]> => {
  if (records.length === 1 && (records[0]!.name === '.' || records[0]!.name === '')) return err('SRV record says the service is not available');
  const usable = records.filter((record) => record.name !== '.' && record.name !== '' && validPort(record.port) && record.port !== 0);
  const priorities = [...new Set(usable.map((record) => record.priority))].sort((a, b) => a - b);
  const ordered: ConnectTarget[] = [];
  for (const priority of priorities) {
    const left = usable.filter((record) => record.priority === priority).sort((a, b) => a.weight - b.weight);
    while (left.length > 0) {
      const total = left.reduce((sum, record) => sum + record.weight, 0);
      // RFC 2782: a uniform integer from 0 to the sum, inclusive; the first record whose running sum reaches it.
      const draw = Math.floor(random() * (total + 1));
      let running = 0;
      let index = left.length - 1;
      for (let i = 0; i < left.length; i++) {
        running += left[i]!.weight;
        if (running >= draw) {
          index = i;
          break;
        }
      }
      const [chosen] = left.splice(index, 1);
      // SRV targets are absolute names; the trailing dot is not part of the hostname to connect to.
      ordered.push({ host: chosen!.name.replace(/\.$/, ''), port: chosen!.port });
    }
  }
  return ok(ordered);
};

/** Steps 3.3–3.5 and 4–6: SRV `_matrix-fed._tcp`, then the deprecated `_matrix._tcp`, then port 8448. */
const bySrv = async (serverName: string, hostname: string, lookups: DiscoveryLookups): Promise<Result<ResolvedServer>> => {
  for (const service of ['_matrix-fed._tcp.', '_matrix._tcp.']) {
    const records = await lookups.srv(`${service}${hostname}`);
    if (records.length === 0) continue;
    const targets = orderSrvRecords(records, lookups.random);
    if (!targets.ok) return targets;
    if (targets.value.length === 0) continue;
    return ok({ serverName, targets: targets.value, hostHeader: hostname, tlsName: hostname, tlsNameIsIp: false, step: 'srv' });
  }
  return ok({
    serverName,
    targets: [{ host: hostname, port: DEFAULT_FEDERATION_PORT }],
    hostHeader: hostname,
    tlsName: hostname,
    tlsNameIsIp: false,
    step: 'default port',
  });
};

/** Runs the resolution algorithm for a server name. */
export const resolveServerName = async (serverName: string, lookups: DiscoveryLookups): Promise<Result<ResolvedServer>> => {
  const parts = partsOf(serverName);
  if (!parts.ok) return parts;
  const { host, port, ip } = parts.value;
  // Step 1: an IP literal is used as it is; the Host header is the server name, port included.
  if (ip) {
    return ok({ serverName, targets: [{ host, port: port ?? DEFAULT_FEDERATION_PORT }], hostHeader: serverName, tlsName: host, tlsNameIsIp: true, step: 'ip literal' });
  }
  // Step 2: an explicit port means no delegation: the hostname's own address records.
  if (port !== undefined) {
    return ok({ serverName, targets: [{ host, port }], hostHeader: serverName, tlsName: host, tlsNameIsIp: false, step: 'explicit port' });
  }
  // Step 3: `.well-known` delegation. An invalid delegated name counts as an invalid response.
  const delegatedName = await lookups.wellKnown(host);
  const delegated = delegatedName === undefined ? undefined : partsOf(delegatedName);
  if (delegatedName !== undefined && delegated !== undefined && delegated.ok) {
    const d = delegated.value;
    // 3.1: "Requests must be made with a Host header containing the IP address, including the port if one was provided."
    if (d.ip) {
      return ok({ serverName, targets: [{ host: d.host, port: d.port ?? DEFAULT_FEDERATION_PORT }], hostHeader: delegatedName, tlsName: d.host, tlsNameIsIp: true, step: 'well-known ip literal' });
    }
    // 3.2: "Host header of <delegated_hostname>:<delegated_port>"; the certificate names the hostname.
    if (d.port !== undefined) {
      return ok({ serverName, targets: [{ host: d.host, port: d.port }], hostHeader: delegatedName, tlsName: d.host, tlsNameIsIp: false, step: 'well-known explicit port' });
    }
    // 3.3–3.5: SRV on the delegated hostname, then its address records on port 8448.
    return bySrv(serverName, d.host, lookups);
  }
  // Steps 4–6: no valid delegation: SRV on the hostname itself, then port 8448.
  return bySrv(serverName, host, lookups);
};

/** `/.well-known/matrix/server` (wellknown.yaml): `{"m.server": "<server name>"}`. */
export const parseWellKnownServer = (body: JsonValue): string | undefined => {
  if (!isJsonObject(body)) return undefined;
  const server = body['m.server'];
  if (typeof server !== 'string' || !partsOf(server).ok) return undefined;
  return server;
};

/**
 * Cache periods (§ Resolving server names step 3: "respect the cache control headers … or use a
 * sensible default … 24 hours … a maximum cache time … 48 hours … Errors are recommended to be
 * cached for up to an hour"), with Synapse's choices where the spec leaves room
 * (synapse/http/federation/well_known_resolver.py): a 5-minute floor, ±10% jitter on defaults so
 * servers do not all refetch at once, 2 minutes for a failure of a domain that recently had a valid
 * answer (it is probably briefly down), refetching in the last 20% of a period, and remembering a
 * valid answer for 2 hours past its expiry.
 */
export const WELL_KNOWN_CACHE = {
  defaultMs: 24 * 3600_000,
  maxMs: 48 * 3600_000,
  minMs: 5 * 60_000,
  invalidMs: 3600_000,
  downMs: 2 * 60_000,
  jitter: 0.1,
  graceFactor: 0.2,
  rememberHadValidMs: 2 * 3600_000,
  /** Largest `.well-known` body read (Synapse's WELL_KNOWN_MAX_SIZE). */
  maxBodyBytes: 50 * 1024,
} as const;

export interface CacheHeaders {
  /** Every Cache-Control header value. */
  readonly cacheControl: readonly string[];
  /** The last Expires header value, if any. */
  readonly expires: string | undefined;
}

/**
 * The period a response asks to be cached for (RFC 9111): `no-store` → 0, else `max-age`, else
 * `Expires` minus now (an invalid date, "especially the value 0", means already expired);
 * undefined when the headers say nothing.
 */
// RFC 9110 § 5.6.7 IMF-fixdate, e.g. `Sun, 06 Nov 1994 08:49:37 GMT` (Date.parse alone reads "0" as a year).
const HTTP_DATE = /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/;

export const cachePeriodFromHeaders = (headers: CacheHeaders, nowMs: number): number | undefined => {
  const directives = new Map<string, string | undefined>();
  for (const header of headers.cacheControl) {
    for (const directive of header.split(',')) {
      const [name = '', value] = directive.split('=', 2).map((part) => part.trim());
      directives.set(name.toLowerCase(), value?.replace(/^"(.*)"$/, '$1'));
    }
  }
  if (directives.has('no-store')) return 0;
  const maxAge = directives.get('max-age');
  if (maxAge !== undefined && /^\d{1,10}$/.test(maxAge)) return Number(maxAge) * 1000;
  if (headers.expires !== undefined) {
    const expires = HTTP_DATE.test(headers.expires.trim()) ? Date.parse(headers.expires) : Number.NaN;
    return Number.isNaN(expires) ? 0 : Math.max(0, expires - nowMs);
  }
  return undefined;
};

/** What fetching `.well-known` gave. */
export type WellKnownFetch =
  /** An HTTP answer: a status other than 5xx, with its body (undefined when it was too large). */
  | { readonly kind: 'response'; readonly status: number; readonly body: JsonValue | undefined; readonly headers: CacheHeaders }
  /** No answer (DNS, connection, TLS, timeout) or a 5xx: possibly temporary. */
  | { readonly kind: 'unreachable'; readonly reason: string };

interface CachedWellKnown {
  readonly server: string | undefined;
  readonly expiresAt: number;
  readonly ttl: number;
}

/** Bounded so that looking up many names (a room with servers nobody asked for) cannot grow memory without end. */
const MAX_CACHED_NAMES = 10_000;

export interface WellKnownCacheOptions {
  readonly fetch: (hostname: string) => Promise<WellKnownFetch>;
  readonly now: () => number;
  readonly random: () => number;
  readonly maxEntries?: number;
}

/**
 * `.well-known` lookups with Synapse's caching: a cached answer is served until the last fifth of
 * its period, then refetched; a temporary failure then keeps serving the previous answer while it
 * lasts; failures are cached too (as "no delegation"), shortly when the name recently had a valid
 * answer. Concurrent lookups of one name share one fetch.
 */
export const cachedWellKnown = (options: WellKnownCacheOptions): ((hostname: string) => Promise<string | undefined>) => {
  const cache = new BoundedMap<string, CachedWellKnown>(options.maxEntries ?? MAX_CACHED_NAMES);
  const hadValidUntil = new BoundedMap<string, number>(options.maxEntries ?? MAX_CACHED_NAMES);
  const jittered = (ms: number) => ms * (1 - WELL_KNOWN_CACHE.jitter + 2 * WELL_KNOWN_CACHE.jitter * options.random());
  // Requests to one destination often start together (a transaction and a key fetch): one fetch serves them all.
  const inFlight = new Map<string, Promise<string | undefined>>();
  const lookup = async (hostname: string): Promise<string | undefined> => {
    const now = options.now();
    const previous = cache.get(hostname);
    const current = previous !== undefined && now < previous.expiresAt ? previous : undefined;
    if (current !== undefined && now < current.expiresAt - WELL_KNOWN_CACHE.graceFactor * current.ttl) return current.server;
    const fetched = await options.fetch(hostname);
    const later = options.now();
    const store = (server: string | undefined, ttl: number) => {
      if (ttl > 0) cache.set(hostname, { server, expiresAt: later + ttl, ttl });
      return server;
    };
    const server = fetched.kind === 'response' && fetched.status === 200 && fetched.body !== undefined ? parseWellKnownServer(fetched.body) : undefined;
    if (fetched.kind === 'response' && server !== undefined) {
      const asked = cachePeriodFromHeaders(fetched.headers, later);
      const ttl = asked === undefined ? jittered(WELL_KNOWN_CACHE.defaultMs) : Math.min(Math.max(asked, WELL_KNOWN_CACHE.minMs), WELL_KNOWN_CACHE.maxMs);
      hadValidUntil.set(hostname, later + ttl + WELL_KNOWN_CACHE.rememberHadValidMs);
      return store(server, ttl);
    }
    // A temporary failure while a valid answer is still cached: keep it (the remote is likely back soon).
    if (fetched.kind === 'unreachable' && current?.server !== undefined) return current.server;
    const hadValid = (hadValidUntil.get(hostname) ?? 0) > later;
    return store(undefined, jittered(hadValid ? WELL_KNOWN_CACHE.downMs : WELL_KNOWN_CACHE.invalidMs));
  };
  return (hostname) => {
    const pending = inFlight.get(hostname);
    if (pending !== undefined) return pending;
    const started = lookup(hostname).finally(() => inFlight.delete(hostname));
    inFlight.set(hostname, started);
    return started;
  };
};
