/**
 * Server keys over HTTP (server-server-api.md § Retrieving server keys):
 * - `GET /_matrix/key/v2/server` (keys_server.yaml): our keys, self-signed; the deprecated
 *   `/_matrix/key/v2/server/{keyId}` form answers the same document, as Synapse does;
 * - `GET /_matrix/key/v2/query/{serverName}` and `POST /_matrix/key/v2/query` (keys_query.yaml):
 *   as a notary, the key documents of other servers as they signed them, each additionally
 *   signed by us ("The notary server must sign the keys returned by the queried server").
 * No authentication: these are how servers learn the keys that authenticate everything else.
 */
import { Router } from '@koa/router';
import {
  isJsonObject, isServerName, MatrixError, OWN_KEYS_VALIDITY_MS, ownServerKeys, signJson,
  type JsonObject, type KeyRing, type OldVerifyKey, type SigningKey,
} from '../../domain/index.ts';
import { readJsonBody, type RequestState } from '../http/index.ts';

/** Bounds on one notary query: each server may cost a fetch. */
export const MAX_QUERIED_SERVERS = 50;
export const MAX_QUERIED_KEY_IDS = 32;
const MAX_QUERY_BODY_BYTES = 64 * 1024;

export interface KeyRoutesOptions {
  /** Our keys now (read per request: a replaced key shows at once). */
  readonly keys: () => { readonly current: SigningKey; readonly old: readonly OldVerifyKey[] };
  readonly keyRing: Pick<KeyRing, 'serverKeyDocuments'>;
  readonly now: () => number;
}

const badParam = (message: string) => new MatrixError('M_INVALID_PARAM', 400, message);

const timestampParam = (value: unknown, name: string): number | undefined => {
  if (value === undefined) return undefined;
  const number = typeof value === 'string' && /^\d{1,16}$/.test(value) ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isSafeInteger(number) || number < 0) {
    throw badParam(`${name} must be a non-negative integer timestamp`);
  }
  return number;
};

export const createKeyRouter = (options: KeyRoutesOptions): Router<RequestState> => {
  const router = new Router<RequestState>();
  // The signed document is reused until half its validity has passed: "Intermediate notary servers
  // should cache a response for half of its lifetime" (keys_server.yaml), so a fresher signature
  // before then gains nobody anything, and signing per request would hand out free CPU work.
  let cached: { document: JsonObject; key: SigningKey; oldCount: number; refreshAt: number } | undefined;
  const ownDocument = (): JsonObject => {
    const now = options.now();
    const { current, old } = options.keys();
    if (cached === undefined || cached.key !== current || cached.oldCount !== old.length || now >= cached.refreshAt) {
      cached = {
        document: ownServerKeys(current, old, now + OWN_KEYS_VALIDITY_MS),
        key: current, oldCount: old.length, refreshAt: now + OWN_KEYS_VALIDITY_MS / 2,
      };
    }
    return cached.document;
  };

  const serve = (ctx: { body: unknown }): void => { ctx.body = ownDocument(); };
  router.get('/_matrix/key/v2/server', serve);
  router.get('/_matrix/key/v2/server/:keyId', serve);

  /** The documents for one server, each with our notary signature added. */
  const notarised = async (serverName: string, keyIds: readonly string[], minimumValidUntilTs: number): Promise<JsonObject[]> => {
    const { current } = options.keys();
    if (serverName === current.serverName) return [ownDocument()];
    const documents = await options.keyRing.serverKeyDocuments(serverName, keyIds, minimumValidUntilTs);
    return documents.map((document) => signJson(document, current));
  };

  router.get('/_matrix/key/v2/query/:serverName', async (ctx) => {
    const serverName = ctx.params.serverName ?? '';
    if (!isServerName(serverName)) throw badParam('serverName is not a server name');
    // "If not supplied, the notary server MUST use the current time."
    const minimum = timestampParam(ctx.query.minimum_valid_until_ts, 'minimum_valid_until_ts') ?? options.now();
    ctx.body = { server_keys: await notarised(serverName, [], minimum) };
  });

  router.post('/_matrix/key/v2/query', async (ctx) => {
    const body = await readJsonBody(ctx, { maxBytes: MAX_QUERY_BODY_BYTES });
    const criteria = body.server_keys;
    if (!isJsonObject(criteria)) throw new MatrixError('M_BAD_JSON', 400, 'server_keys must be an object');
    const servers = Object.entries(criteria);
    if (servers.length > MAX_QUERIED_SERVERS) throw badParam(`at most ${MAX_QUERIED_SERVERS} servers per query`);
    const now = options.now();
    const queries = servers.map(([serverName, keys]) => {
      if (!isServerName(serverName)) throw badParam(`${JSON.stringify(serverName.slice(0, 64))} is not a server name`);
      if (!isJsonObject(keys)) throw new MatrixError('M_BAD_JSON', 400, `server_keys.${serverName} must be an object`);
      const keyIds = Object.keys(keys);
      if (keyIds.length > MAX_QUERIED_KEY_IDS) throw badParam(`at most ${MAX_QUERIED_KEY_IDS} key ids per server`);
      // The most demanding criterion of the server's keys decides whether the notary refreshes.
      let minimum = 0;
      for (const keyId of keyIds) {
        const criterion = keys[keyId];
        if (!isJsonObject(criterion)) throw new MatrixError('M_BAD_JSON', 400, `server_keys.${serverName}.${keyId} must be an object`);
        minimum = Math.max(minimum, timestampParam(criterion.minimum_valid_until_ts, 'minimum_valid_until_ts') ?? now);
      }
      return { serverName, keyIds, minimum: keyIds.length === 0 ? now : minimum };
    });
    const answers = await Promise.all(queries.map((query) => notarised(query.serverName, query.keyIds, query.minimum)));
    ctx.body = { server_keys: answers.flat() };
  });
  return router;
};
