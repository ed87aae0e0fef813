/**
 * The IdentityServers port over HTTPS (identity_service_api): `https://<id_server><path>`, as
 * Synapse reaches the `id_server` a client names (no SRV or `.well-known` discovery). Requests go
 * through the federation client's guarded exchange: the address policy (private ranges refused
 * unless whitelisted), certificate checks, and bounds on time and answer size.
 */
import { Agent } from 'node:https';
import {
  DEFAULT_BLOCKED_RANGES, isJsonObject, parseCidrList, signXMatrixRequest, type CidrRange, type JsonObject, type SigningKey,
} from '../../domain/index.ts';
import { IdentityServerError, type IdentityServers } from '../../domain/ports/index.ts';
import { exchange, FederationClientError, parseJsonBytes, systemAddressLookup } from '../federation/client/index.ts';

export interface IdentityServersOptions {
  /** Signs requests identity servers authenticate as coming from this homeserver (`/3pid/unbind`). */
  readonly signingKey: SigningKey;
  readonly verifyCertificates: boolean;
  readonly ipRangeWhitelist: readonly string[];
  readonly connectTimeoutMs?: number;
  readonly requestTimeoutMs?: number;
}

/** An identity server's answers are small JSON objects. */
const MAX_RESPONSE_BYTES = 64 * 1024;

const ranges = (texts: readonly string[]): readonly CidrRange[] => {
  const parsed = parseCidrList(texts);
  if (!parsed.ok) throw new Error(`ip range whitelist: ${parsed.error}`);
  return parsed.value;
};

/** `host`, `host:port`, `[v6]` or `[v6]:port` → where to connect; undefined for anything else. */
export const parseIdServer = (idServer: string): { host: string; port: number } | undefined => {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+))(?::(\d{1,5}))?$/.exec(idServer);
  if (match === null) return undefined;
  const port = match[3] === undefined ? 443 : Number(match[3]);
  if (port < 1 || port > 65535) return undefined;
  return { host: match[1] ?? match[2]!, port };
};

export const createIdentityServers = (options: IdentityServersOptions): IdentityServers & { close(): void } => {
  const agent = new Agent({ keepAlive: true, maxSockets: 4 });
  const guards = {
    agent,
    lookup: systemAddressLookup,
    addressPolicy: { blocked: DEFAULT_BLOCKED_RANGES, allowed: ranges(options.ipRangeWhitelist) },
    verifyCertificates: options.verifyCertificates,
    connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
    responseTimeoutMs: options.requestTimeoutMs ?? 30_000,
    maxResponseBytes: MAX_RESPONSE_BYTES,
  };
  return {
    async request(idServer, method, path, requestOptions) {
      const target = parseIdServer(idServer);
      if (target === undefined) throw new IdentityServerError(`"${idServer}" is not an identity server name`);
      const payload = requestOptions.body === undefined ? undefined : Buffer.from(JSON.stringify(requestOptions.body), 'utf8');
      const headers: Record<string, string> = {
        Host: idServer,
        Accept: 'application/json',
        'User-Agent': 'Strata',
        ...(payload === undefined ? {} : { 'Content-Type': 'application/json', 'Content-Length': String(payload.length) }),
        ...(requestOptions.accessToken === undefined ? {} : { Authorization: `Bearer ${requestOptions.accessToken}` }),
        ...(requestOptions.signed === true ? {
          Authorization: signXMatrixRequest({
            method, uri: path, destination: idServer, ...(requestOptions.body === undefined ? {} : { content: requestOptions.body }),
          }, options.signingKey),
        } : {}),
      };
      let status: number;
      let answer: JsonObject | undefined;
      try {
        const response = await exchange(
          { host: target.host, port: target.port, method, path, headers, ...(payload === undefined ? {} : { body: payload }), tlsName: target.host },
          guards,
        );
        status = response.status;
        const parsed = response.body === undefined || response.body.length === 0 ? undefined : parseJsonBytes(response.body);
        answer = parsed?.ok === true && isJsonObject(parsed.value) ? parsed.value : undefined;
      } catch (error) {
        if (error instanceof FederationClientError) throw new IdentityServerError(`${idServer}: ${error.message}`);
        throw error;
      }
      if (status < 200 || status >= 300) {
        const errcode = typeof answer?.errcode === 'string' ? answer.errcode.slice(0, 128) : undefined;
        const message = typeof answer?.error === 'string' ? answer.error.slice(0, 200) : `answered ${status}`;
        throw new IdentityServerError(`${idServer}: ${message}`, status, errcode);
      }
      if (answer === undefined) throw new IdentityServerError(`${idServer} answered ${status} without a JSON object`);
      return answer;
    },
    close: () => agent.destroy(),
  };
};
