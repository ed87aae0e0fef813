/**
 * The key ring's fetch over the outbound federation client (infra/federation/client/: discovery,
 * TLS, the address policy). A key document is a few hundred bytes and a notary answer a few
 * documents, so answers are bounded far below the client's default, and a server that does not
 * answer within 10 s is treated as unreachable rather than holding up the event that needs its key.
 */
import { isJsonObject, type JsonObject } from '../../../domain/index.ts';
import type { FederationClient } from '../client/index.ts';
import type { FetchFederationJson } from './remoteKeyRing.ts';

const MAX_KEY_ANSWER_BYTES = 256 * 1024;
const KEY_REQUEST_TIMEOUT_MS = 10_000;

export const fetchThroughClient = (client: Pick<FederationClient, 'request'>): FetchFederationJson =>
  async (serverName: string, path: string): Promise<JsonObject> => {
    const body = await client.request(serverName, 'GET', path, undefined, {
      maxResponseBytes: MAX_KEY_ANSWER_BYTES, timeoutMs: KEY_REQUEST_TIMEOUT_MS,
    });
    if (!isJsonObject(body)) throw new Error(`${serverName} answered ${path} with no JSON object`);
    return body;
  };
