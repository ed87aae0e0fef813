/**
 * The outbound federation client: `request(destination, method, path, body?)` signs the request
 * with our key (X-Matrix, origin = our server name, destination = the server name as given, before
 * any delegation), resolves the destination (domain/federation/discovery.ts over DNS and
 * `.well-known`), and sends it over HTTPS with the address policy, certificate checks, timeouts and
 * size bounds of ./https.ts. A 2xx answer resolves to its JSON; any other status rejects with
 * FederationHttpError carrying the remote's Matrix error.
 */
import { Agent } from 'node:https';
import {
  DEFAULT_BLOCKED_RANGES,
  cachedWellKnown,
  isJsonObject,
  parseCidrList,
  resolveServerName,
  signXMatrixRequest,
  type CidrRange,
  type JsonValue,
  type SigningKey,
  type SrvRecord,
} from '../../../domain/index.ts';
import { createSrvLookup, fetchWellKnown, systemAddressLookup } from './discovery.ts';
import { exchange, FederationClientError, type AddressLookup, type HttpsGuards, type HttpsResponse } from './https.ts';
import { parseJsonBytes } from './json.ts';

export interface FederationClientOptions {
  /** Our server name: the origin of every request. */
  readonly serverName: string;
  readonly signingKey: SigningKey;
  /**
   * Check remote certificates (Synapse's `federation_verify_certificates`). Only test deployments
   * turn it off; extra authorities come from NODE_EXTRA_CA_CERTS instead.
   */
  readonly verifyCertificates: boolean;
  /** CIDR ranges reachable even though they are private or special (Synapse's `ip_range_whitelist`). */
  readonly ipRangeWhitelist: readonly string[];
  /** Ranges refused; Synapse's default `ip_range_blacklist` when absent. */
  readonly ipRangeBlacklist?: readonly string[];
  /** The only destinations we federate with (Synapse's `federation_domain_whitelist`); all when absent. */
  readonly domainWhitelist?: readonly string[];
  /** Connecting, including TLS (default 10 s). */
  readonly connectTimeoutMs?: number;
  /** From sending a request to the end of its answer (default 60 s, Synapse's federation default). */
  readonly requestTimeoutMs?: number;
  /** Largest answer read (default 32 MiB). */
  readonly maxResponseBytes?: number;
  /** For tests: name resolution instead of the system's. */
  readonly dns?: { readonly lookup?: AddressLookup; readonly srv?: (name: string) => Promise<readonly SrvRecord[]> };
  readonly userAgent?: string;
}

export interface FederationRequestOptions {
  readonly timeoutMs?: number;
  readonly maxResponseBytes?: number;
}

/** A remote answered with a status other than 2xx. */
export class FederationHttpError extends Error {
  readonly status: number;
  /** The remote's Matrix errcode, when its answer had one. */
  readonly errcode: string | undefined;
  readonly body: JsonValue | undefined;

  constructor(destination: string, status: number, body: JsonValue | undefined) {
    const errcode = isJsonObject(body) && typeof body.errcode === 'string' ? body.errcode : undefined;
    const error = isJsonObject(body) && typeof body.error === 'string' ? `: ${body.error.slice(0, 200)}` : '';
    super(`${destination} answered ${status}${errcode === undefined ? '' : ` ${errcode}`}${error}`);
    this.name = 'FederationHttpError';
    this.status = status;
    this.errcode = errcode;
    this.body = body;
  }
}

/** A 2xx answer as bytes, for endpoints that answer something other than JSON (media). */
export interface FederationBytes {
  readonly contentType: string | undefined;
  readonly body: Buffer;
}

export interface FederationClient {
  request(destination: string, method: string, path: string, body?: JsonValue, options?: FederationRequestOptions): Promise<JsonValue>;
  /** A signed GET whose 2xx answer is given as bytes; any other status rejects as `request` does. */
  getBytes(destination: string, path: string, options?: FederationRequestOptions): Promise<FederationBytes>;
  /** Closes pooled connections. */
  close(): void;
}

const ranges = (texts: readonly string[], what: string): readonly CidrRange[] => {
  const parsed = parseCidrList(texts);
  if (!parsed.ok) throw new Error(`${what}: ${parsed.error}`);
  return parsed.value;
};

export const createFederationClient = (options: FederationClientOptions): FederationClient => {
  const agent = new Agent({ keepAlive: true, maxSockets: 8, maxFreeSockets: 2, scheduling: 'lifo' });
  const guards: HttpsGuards = {
    agent,
    lookup: options.dns?.lookup ?? systemAddressLookup,
    addressPolicy: {
      blocked: options.ipRangeBlacklist === undefined ? DEFAULT_BLOCKED_RANGES : ranges(options.ipRangeBlacklist, 'ip range blacklist'),
      allowed: ranges(options.ipRangeWhitelist, 'ip range whitelist'),
    },
    verifyCertificates: options.verifyCertificates,
    connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
    responseTimeoutMs: options.requestTimeoutMs ?? 60_000,
    maxResponseBytes: options.maxResponseBytes ?? 32 * 1024 * 1024,
  };
  const userAgent = options.userAgent ?? 'Strata';
  const domainWhitelist = options.domainWhitelist === undefined ? undefined : new Set(options.domainWhitelist);
  const srv = options.dns?.srv ?? createSrvLookup({ timeoutMs: guards.connectTimeoutMs });
  const wellKnown = cachedWellKnown({ fetch: (hostname) => fetchWellKnown(hostname, guards, userAgent), now: Date.now, random: Math.random });

  /** Signs, resolves and sends; answers the first reachable target's 2xx response, rejects any other status. */
  const send = async (
    destination: string, method: string, path: string, body: JsonValue | undefined, requestOptions: FederationRequestOptions, accept: string,
  ): Promise<HttpsResponse> => {
    if (domainWhitelist !== undefined && !domainWhitelist.has(destination)) {
      throw new FederationClientError('denied', `${destination} is not in the federation domain whitelist`);
    }
    if (!path.startsWith('/')) throw new Error(`federation path ${path} must start with /`);
    const upper = method.toUpperCase();
    // "All POST and PUT endpoints require the requesting server to supply a request body containing
    // a (potentially empty) JSON object" (§ API standards).
    const content = body ?? (upper === 'PUT' || upper === 'POST' ? {} : undefined);
    const authorization = signXMatrixRequest({ method: upper, uri: path, destination, ...(content === undefined ? {} : { content }) }, options.signingKey);
    const resolved = await resolveServerName(destination, { wellKnown, srv, random: Math.random });
    if (!resolved.ok) throw new FederationClientError('resolve', resolved.error);
    const server = resolved.value;
    const payload = content === undefined ? undefined : Buffer.from(JSON.stringify(content), 'utf8');
    const headers: Record<string, string> = {
      Host: server.hostHeader,
      Authorization: authorization,
      'User-Agent': userAgent,
      Accept: accept,
      ...(payload === undefined ? {} : { 'Content-Type': 'application/json', 'Content-Length': String(payload.length) }),
    };
    const requestGuards: HttpsGuards = {
      ...guards,
      responseTimeoutMs: requestOptions.timeoutMs ?? guards.responseTimeoutMs,
      maxResponseBytes: requestOptions.maxResponseBytes ?? guards.maxResponseBytes,
    };
    let lastError: unknown;
    for (const target of server.targets) {
      try {
        const response = await exchange(
          { host: target.host, port: target.port, method: upper, path, headers, ...(payload === undefined ? {} : { body: payload }), tlsName: server.tlsName },
          requestGuards,
        );
        if (response.status < 200 || response.status >= 300) {
          const parsed = response.body === undefined || response.body.length === 0 ? undefined : parseJsonBytes(response.body);
          throw new FederationHttpError(destination, response.status, parsed?.ok ? parsed.value : undefined);
        }
        return response;
      } catch (error) {
        // The next SRV target only when this one could not be reached at all.
        if (error instanceof FederationClientError && (error.kind === 'connect' || error.kind === 'resolve' || error.kind === 'blocked')) lastError = error;
        else throw error;
      }
    }
    throw lastError;
  };

  const request: FederationClient['request'] = async (destination, method, path, body, requestOptions = {}) => {
    const response = await send(destination, method, path, body, requestOptions, 'application/json');
    const parsed = response.body === undefined || response.body.length === 0 ? undefined : parseJsonBytes(response.body);
    if (parsed === undefined || !parsed.ok) {
      throw new FederationClientError('badResponse', `${destination} answered ${response.status} without acceptable JSON${parsed === undefined ? '' : `: ${parsed.error}`}`);
    }
    return parsed.value;
  };

  const getBytes: FederationClient['getBytes'] = async (destination, path, requestOptions = {}) => {
    const response = await send(destination, 'GET', path, undefined, requestOptions, '*/*');
    const contentType = response.headers['content-type'];
    return { contentType, body: response.body ?? Buffer.alloc(0) };
  };

  return { request, getBytes, close: () => agent.destroy() };
};
