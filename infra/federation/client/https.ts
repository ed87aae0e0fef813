/**
 * One HTTPS exchange with a remote server, with the guards federation needs: the name is resolved
 * here and every address is checked against the address policy before connecting (checking the
 * name would let DNS answer with a private address afterwards), certificates are checked against the
 * name discovery says (never an SRV target), and connecting, waiting and reading are bounded in time
 * and size so that a hostile or hanging remote cannot hold a caller or fill memory.
 */
import { Agent, request as httpsRequest } from 'node:https';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import { isIP } from 'node:net';
import type { IncomingHttpHeaders } from 'node:http';
import { isAddressAllowed, type AddressPolicy } from '../../../domain/index.ts';

/** Why a request to a remote server failed before an HTTP answer was had. */
export type FederationFailureKind = 'denied' | 'resolve' | 'blocked' | 'connect' | 'tls' | 'timeout' | 'tooLarge' | 'badResponse';

export class FederationClientError extends Error {
  readonly kind: FederationFailureKind;

  constructor(kind: FederationFailureKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'FederationClientError';
    this.kind = kind;
  }
}

/** Resolves a hostname to addresses (CNAME, AAAA and A records, as getaddrinfo does). */
export type AddressLookup = (hostname: string) => Promise<readonly string[]>;

export interface HttpsExchange {
  /** A DNS name or an IP address (without brackets). */
  readonly host: string;
  readonly port: number;
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: Buffer;
  /** The name the certificate must be valid for; sent as SNI unless it is an IP address. */
  readonly tlsName: string;
}

export interface HttpsResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** The body, or undefined when it was larger than allowed and `tooLarge: 'undefined'` was asked. */
  readonly body: Buffer | undefined;
}

export interface HttpsGuards {
  readonly agent: Agent;
  readonly lookup: AddressLookup;
  readonly addressPolicy: AddressPolicy;
  readonly verifyCertificates: boolean;
  readonly connectTimeoutMs: number;
  /** From sending the request to the last byte of the answer. */
  readonly responseTimeoutMs: number;
  readonly maxResponseBytes: number;
  /** What an over-large answer gives: an error (default) or a response without body. */
  readonly tooLarge?: 'error' | 'undefined';
}

const withTimeout = <T>(promise: Promise<T>, ms: number, message: string): Promise<T> =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new FederationClientError('timeout', message)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });

/** The addresses to try for a host, only those the policy allows; refuses when none is left. */
export const allowedAddresses = async (host: string, guards: Pick<HttpsGuards, 'lookup' | 'addressPolicy' | 'connectTimeoutMs'>): Promise<string[]> => {
  let addresses: readonly string[];
  if (isIP(host) !== 0) addresses = [host];
  else {
    try {
      addresses = await withTimeout(guards.lookup(host), guards.connectTimeoutMs, `resolving ${host} timed out`);
    } catch (error) {
      if (error instanceof FederationClientError) throw error;
      throw new FederationClientError('resolve', `cannot resolve ${host}: ${(error as Error).message}`, { cause: error });
    }
  }
  const allowed = addresses.filter((address) => isAddressAllowed(address, guards.addressPolicy));
  if (allowed.length === 0) {
    throw new FederationClientError(addresses.length === 0 ? 'resolve' : 'blocked', addresses.length === 0
      ? `${host} has no address`
      : `${host} resolves only to addresses federation may not reach (${addresses.join(', ')})`);
  }
  return allowed;
};

const CONNECT_ERRORS = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'ECONNRESET']);

/** Sends one request, trying the host's allowed addresses in turn until one accepts the connection. */
export const exchange = async (request: HttpsExchange, guards: HttpsGuards): Promise<HttpsResponse> => {
  const addresses = await allowedAddresses(request.host, guards);
  let lastError: unknown;
  for (const address of addresses) {
    try {
      return await exchangeWith(address, request, guards);
    } catch (error) {
      // Only a refused or unreachable connection moves on; anything after connecting is the answer.
      if (error instanceof FederationClientError && error.kind === 'connect') lastError = error;
      else throw error;
    }
  }
  throw lastError;
};

const exchangeWith = (address: string, request: HttpsExchange, guards: HttpsGuards): Promise<HttpsResponse> =>
  new Promise((resolve, reject) => {
    const tlsNameIsIp = isIP(request.tlsName) !== 0;
    let settled = false;
    let connected = false;
    const timers: NodeJS.Timeout[] = [];
    const settle = (error: Error | undefined, response?: HttpsResponse) => {
      if (settled) return;
      settled = true;
      for (const timer of timers) clearTimeout(timer);
      if (error === undefined) resolve(response!);
      else {
        req.destroy();
        reject(error);
      }
    };
    const req = httpsRequest({
      agent: guards.agent,
      host: address,
      port: request.port,
      method: request.method,
      path: request.path,
      headers: request.headers,
      // "a SNI should be sent for the certificate which is expected, unless that certificate is
      // expected to be an IP address" (server-server-api.md § TLS); '' sends none.
      servername: tlsNameIsIp ? '' : request.tlsName,
      rejectUnauthorized: guards.verifyCertificates,
      // The certificate must be valid for the server name, whatever address we reached it at.
      checkServerIdentity: (_host: string, certificate: PeerCertificate) => checkServerIdentity(request.tlsName, certificate),
      // No `ca`: the operating system's authorities plus NODE_EXTRA_CA_CERTS stay in force.
    });
    req.on('socket', (socket) => {
      if (req.reusedSocket) {
        connected = true;
        return;
      }
      timers.push(setTimeout(() => settle(new FederationClientError('connect', `connecting to ${address}:${request.port} timed out`)), guards.connectTimeoutMs));
      socket.once('secureConnect', () => {
        connected = true;
      });
    });
    timers.push(setTimeout(() => settle(new FederationClientError('timeout', `${request.method} ${request.host}:${request.port} got no answer in ${guards.responseTimeoutMs} ms`)), guards.responseTimeoutMs));
    req.on('error', (error: Error) => {
      const code = (error as NodeJS.ErrnoException).code ?? '';
      if (!connected && CONNECT_ERRORS.has(code)) settle(new FederationClientError('connect', `cannot connect to ${address}:${request.port}: ${error.message}`, { cause: error }));
      else if (!connected) settle(new FederationClientError('tls', `TLS with ${address}:${request.port} (${request.tlsName}) failed: ${error.message}`, { cause: error }));
      else settle(new FederationClientError('badResponse', `${request.method} ${request.host}:${request.port} failed: ${error.message}`, { cause: error }));
    });
    req.on('response', (res) => {
      const declared = Number(res.headers['content-length']);
      const chunks: Buffer[] = [];
      let size = 0;
      const tooLarge = () => {
        if (guards.tooLarge === 'undefined') {
          res.destroy();
          settle(undefined, { status: res.statusCode ?? 0, headers: res.headers, body: undefined });
        } else settle(new FederationClientError('tooLarge', `answer of ${request.host} is larger than ${guards.maxResponseBytes} bytes`));
      };
      if (Number.isFinite(declared) && declared > guards.maxResponseBytes) return tooLarge();
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > guards.maxResponseBytes) return tooLarge();
        chunks.push(chunk);
      });
      res.on('end', () => settle(undefined, { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks, size) }));
      res.on('error', (error) => settle(new FederationClientError('badResponse', `reading the answer of ${request.host} failed: ${error.message}`, { cause: error })));
      res.on('close', () => {
        if (!res.complete) settle(new FederationClientError('badResponse', `the answer of ${request.host} was cut short`));
      });
    });
    req.end(request.body);
  });
