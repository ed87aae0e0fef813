/**
 * The RemoteServers port over the outbound federation client (server-server-api § Querying for
 * information, § End-to-End Encryption, § Public Room Directory). Every answer is bounded in size
 * and time, parsed with the request-body JSON limits by the client, and checked here for the shape
 * the spec gives it; what does not fit is dropped (a key map) or refused (502).
 *
 * Failures become the errors Synapse gives its clients: the remote's own 4xx Matrix error is passed
 * on (e.g. 404 M_NOT_FOUND for an unknown profile or alias), a remote that timed out is a 504, any
 * other failure (unreachable, refused by our address policy, a 5xx, an answer of the wrong shape) a
 * 502.
 */
import {
  MatrixError,
  isJsonObject,
  isRoomId,
  isUserId,
  parseServerName,
  userServerName,
  type JsonObject,
  type JsonValue,
  type RemoteAlias,
  type RemoteKeysQuery,
  type RemotePublicRoomsRequest,
  type RemoteServers,
} from '../../domain/index.ts';
import { FederationClientError, FederationHttpError, type FederationClient, type FederationFailureKind } from './client/index.ts';

export interface RemoteServersOptions {
  readonly client: Pick<FederationClient, 'request'>;
  /** How long a profile, alias or room-list query may take (default 30 s). */
  readonly queryTimeoutMs?: number;
}

/** A profile is under 64 KiB (client-server-api § Profiles); room for the JSON around it. */
const PROFILE_BYTES = 128 * 1024;
const DIRECTORY_BYTES = 64 * 1024;
const KEYS_BYTES = 16 * 1024 * 1024;
const PUBLIC_ROOMS_BYTES = 8 * 1024 * 1024;
/** An alias's candidate servers: more than enough for a join, bounded against a hostile list. */
const MAX_ALIAS_SERVERS = 100;
/** Rooms kept of a page when no limit was asked for (the remote's own page size otherwise). */
const MAX_PUBLIC_ROOMS = 500;

export const badAnswer = (serverName: string, what: string): MatrixError =>
  new MatrixError('M_UNKNOWN', 502, `${serverName} answered ${what} with an unexpected shape`);

const CLIENT_FAILURE: Readonly<Record<FederationFailureKind, string>> = {
  denied: 'federation with it is not allowed', resolve: 'its name could not be resolved', blocked: 'its address is not allowed',
  connect: 'it could not be reached', tls: 'TLS with it failed', timeout: 'it did not answer in time',
  tooLarge: 'its answer was too large', badResponse: 'its answer was unusable',
};

/** The client-facing error for a failed federation request (Synapse: proxied 4xx, else 502/504). */
export const remoteFailure = (serverName: string, what: string, error: unknown): MatrixError => {
  if (error instanceof MatrixError) return error;
  if (error instanceof FederationHttpError) {
    if (error.status >= 400 && error.status < 500 && error.errcode !== undefined && /^[A-Z0-9_.]{1,64}$/i.test(error.errcode)) {
      const body = isJsonObject(error.body) ? error.body : {};
      const message = typeof body.error === 'string' ? body.error.slice(0, 500) : `${serverName} refused ${what}`;
      return new MatrixError(error.errcode, error.status, message);
    }
    return new MatrixError('M_UNKNOWN', 502, `Failed to fetch ${what} from ${serverName}: it answered ${error.status}`);
  }
  if (error instanceof FederationClientError) {
    if (error.kind === 'timeout') return new MatrixError('M_UNKNOWN', 504, `Timed out fetching ${what} from ${serverName}`);
    if (error.kind === 'denied') return new MatrixError('M_FORBIDDEN', 403, `Federation with ${serverName} is not allowed`);
    // Only the kind of failure: which address refused or what TLS said is not for clients, who
    // choose the names asked and could map the network behind us with the details.
    return new MatrixError('M_UNKNOWN', 502, `Failed to fetch ${what} from ${serverName}: ${CLIENT_FAILURE[error.kind]}`);
  }
  return new MatrixError('M_UNKNOWN', 502, `Failed to fetch ${what} from ${serverName}`);
};

/**
 * The client bounds each exchange by `timeoutMs`, but finding the server (well-known, SRV) and
 * trying several SRV targets comes on top; the caller's deadline (keys.yaml `timeout`) covers it
 * all. A request left behind still ends by the client's own bounds.
 */
const withDeadline = <T>(promise: Promise<T>, timeoutMs: number, serverName: string): Promise<T> => {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new FederationClientError('timeout', `${serverName} did not answer in ${timeoutMs} ms`)), timeoutMs);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
};

export const query = (params: Record<string, string | undefined>): string => {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) if (value !== undefined) search.set(name, value);
  const text = search.toString();
  return text === '' ? '' : `?${text}`;
};

/** Objects of `value` under the keys that `keep` accepts, others dropped. */
const objectsUnder = (value: JsonValue | undefined, keep: (key: string) => boolean): Record<string, JsonObject> => {
  const out: Record<string, JsonObject> = {};
  if (!isJsonObject(value)) return out;
  for (const [key, entry] of Object.entries(value)) if (keep(key) && isJsonObject(entry)) out[key] = entry;
  return out;
};

/** One request to another server, its failure turned into the client-facing error, its answer an object. */
export const askRemote = async (
  client: Pick<FederationClient, 'request'>, serverName: string, what: string, method: 'GET' | 'POST' | 'PUT', path: string,
  body: JsonObject | undefined, timeoutMs: number, maxResponseBytes: number,
): Promise<JsonObject> => {
  // A name that is not a server name never reaches discovery (nor the log lines about it).
  if (!parseServerName(serverName).ok) throw new MatrixError('M_INVALID_PARAM', 400, `${JSON.stringify(serverName.slice(0, 300))} is not a server name`);
  let answer: JsonValue;
  try {
    answer = await withDeadline(client.request(serverName, method, path, body, { timeoutMs, maxResponseBytes }), timeoutMs, serverName);
  } catch (error) {
    throw remoteFailure(serverName, what, error);
  }
  if (!isJsonObject(answer)) throw badAnswer(serverName, what);
  return answer;
};

export const createRemoteServers = (options: RemoteServersOptions): RemoteServers => {
  const queryTimeoutMs = options.queryTimeoutMs ?? 30_000;
  const ask = (serverName: string, what: string, method: 'GET' | 'POST', path: string, body: JsonObject | undefined, timeoutMs: number, maxResponseBytes: number) =>
    askRemote(options.client, serverName, what, method, path, body, timeoutMs, maxResponseBytes);
  // A remote speaks only for its own users; anything it says about others is dropped.
  const ownUser = (serverName: string, asked: ReadonlySet<string>) => (userId: string): boolean =>
    asked.has(userId) && isUserId(userId) && userServerName(userId) === serverName;

  return {
    queryProfile: async (serverName, userId, field) => {
      const answer = await ask(serverName, 'the profile', 'GET',
        `/_matrix/federation/v1/query/profile${query({ user_id: userId, field })}`, undefined, queryTimeoutMs, PROFILE_BYTES);
      // profile.yaml: displayname and avatar_url are strings (or absent); other fields are any JSON.
      for (const name of ['displayname', 'avatar_url']) {
        if (answer[name] !== undefined && answer[name] !== null && typeof answer[name] !== 'string') throw badAnswer(serverName, 'the profile');
      }
      if (field !== undefined) return Object.hasOwn(answer, field) ? { [field]: answer[field]! } : {};
      return answer;
    },

    queryDirectory: async (serverName, alias): Promise<RemoteAlias> => {
      const answer = await ask(serverName, 'the room alias', 'GET',
        `/_matrix/federation/v1/query/directory${query({ room_alias: alias })}`, undefined, queryTimeoutMs, DIRECTORY_BYTES);
      if (typeof answer.room_id !== 'string' || !isRoomId(answer.room_id) || !Array.isArray(answer.servers)) throw badAnswer(serverName, 'the room alias');
      const servers = [...new Set(answer.servers.filter((s): s is string => typeof s === 'string' && parseServerName(s).ok))].slice(0, MAX_ALIAS_SERVERS);
      return { roomId: answer.room_id, servers };
    },

    queryKeys: async (serverName, deviceKeys, timeoutMs): Promise<RemoteKeysQuery> => {
      const asked = new Set(Object.keys(deviceKeys));
      const answer = await ask(serverName, 'device keys', 'POST', '/_matrix/federation/v1/user/keys/query',
        { device_keys: Object.fromEntries(Object.entries(deviceKeys).map(([user, devices]) => [user, [...devices]])) }, timeoutMs, KEYS_BYTES);
      if (!isJsonObject(answer.device_keys)) throw badAnswer(serverName, 'device keys');
      const own = ownUser(serverName, asked);
      const devices: Record<string, JsonObject> = {};
      for (const [userId, ofUser] of Object.entries(objectsUnder(answer.device_keys, own))) {
        const wanted = new Set(deviceKeys[userId]);
        // Device keys objects only, and only the devices asked for (all for an empty list).
        devices[userId] = objectsUnder(ofUser, (deviceId) => wanted.size === 0 || wanted.has(deviceId));
      }
      return {
        deviceKeys: devices,
        masterKeys: objectsUnder(answer.master_keys, own),
        selfSigningKeys: objectsUnder(answer.self_signing_keys, own),
      };
    },

    claimKeys: async (serverName, oneTimeKeys, timeoutMs) => {
      const asked = new Set(Object.keys(oneTimeKeys));
      const answer = await ask(serverName, 'one-time keys', 'POST', '/_matrix/federation/v1/user/keys/claim',
        { one_time_keys: oneTimeKeys as unknown as JsonObject }, timeoutMs, KEYS_BYTES);
      if (!isJsonObject(answer.one_time_keys)) throw badAnswer(serverName, 'one-time keys');
      const claimed: Record<string, JsonObject> = {};
      for (const [userId, ofUser] of Object.entries(objectsUnder(answer.one_time_keys, ownUser(serverName, asked)))) {
        const wanted = oneTimeKeys[userId]!;
        // Per device asked for: `<algorithm>:<key id>` → key (an object, or a string for unsigned keys).
        const devices: JsonObject = {};
        for (const [deviceId, keys] of Object.entries(objectsUnder(ofUser, (deviceId) => Object.hasOwn(wanted, deviceId)))) {
          const kept: JsonObject = {};
          for (const [keyId, key] of Object.entries(keys)) if (keyId.includes(':') && (typeof key === 'string' || isJsonObject(key))) kept[keyId] = key;
          if (Object.keys(kept).length > 0) devices[deviceId] = kept;
        }
        if (Object.keys(devices).length > 0) claimed[userId] = devices;
      }
      return claimed;
    },

    publicRooms: async (serverName, request: RemotePublicRoomsRequest) => {
      const path = '/_matrix/federation/v1/publicRooms';
      // A search term or room types need the POST form (server-server-api § Public Room Directory).
      const filtered = request.searchTerm !== undefined || request.roomTypes !== undefined;
      const answer = filtered
        ? await ask(serverName, 'the room list', 'POST', path, {
          ...(request.limit === undefined ? {} : { limit: request.limit }),
          ...(request.since === undefined ? {} : { since: request.since }),
          ...(request.includeAllNetworks === undefined ? {} : { include_all_networks: request.includeAllNetworks }),
          ...(request.thirdPartyInstanceId === undefined ? {} : { third_party_instance_id: request.thirdPartyInstanceId }),
          filter: {
            ...(request.searchTerm === undefined ? {} : { generic_search_term: request.searchTerm }),
            ...(request.roomTypes === undefined ? {} : { room_types: [...request.roomTypes] }),
          },
        }, queryTimeoutMs, PUBLIC_ROOMS_BYTES)
        : await ask(serverName, 'the room list', 'GET', `${path}${query({
          limit: request.limit === undefined ? undefined : String(request.limit),
          since: request.since,
          include_all_networks: request.includeAllNetworks === undefined ? undefined : String(request.includeAllNetworks),
          third_party_instance_id: request.thirdPartyInstanceId,
        })}`, undefined, queryTimeoutMs, PUBLIC_ROOMS_BYTES);
      if (!Array.isArray(answer.chunk)) throw badAnswer(serverName, 'the room list');
      const chunk = answer.chunk.slice(0, request.limit ?? MAX_PUBLIC_ROOMS).filter((room): room is JsonObject => isJsonObject(room) && typeof room.room_id === 'string' && isRoomId(room.room_id));
      const page: JsonObject = { chunk };
      for (const name of ['next_batch', 'prev_batch']) if (typeof answer[name] === 'string') page[name] = answer[name];
      if (typeof answer.total_room_count_estimate === 'number' && Number.isSafeInteger(answer.total_room_count_estimate)) {
        page.total_room_count_estimate = answer.total_room_count_estimate;
      }
      return page;
    },
  };
};
