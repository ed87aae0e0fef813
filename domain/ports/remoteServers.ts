/**
 * Questions asked of other homeservers on behalf of our clients (server-server-api § Querying for
 * information, § End-to-End Encryption, § Public Room Directory). The adapter validates every answer
 * before it gets here: what these return has the shape named below, nothing else. A server that
 * cannot be asked, or answers with an error, rejects with a MatrixError the client can be given
 * (the remote's own 4xx error, 502 when it failed, 504 when it did not answer in time).
 */
import type { JsonObject } from '../json.ts';

export interface RemoteAlias {
  readonly roomId: string;
  readonly servers: readonly string[];
}

/** `POST /_matrix/federation/v1/user/keys/query`'s answer, each map keyed by user id. */
export interface RemoteKeysQuery {
  readonly deviceKeys: Readonly<Record<string, JsonObject>>;
  readonly masterKeys: Readonly<Record<string, JsonObject>>;
  readonly selfSigningKeys: Readonly<Record<string, JsonObject>>;
}

export interface RemotePublicRoomsRequest {
  readonly limit?: number;
  readonly since?: string;
  readonly searchTerm?: string;
  readonly roomTypes?: readonly (string | null)[];
  readonly includeAllNetworks?: boolean;
  readonly thirdPartyInstanceId?: string;
}

export interface RemoteServers {
  /** `GET /query/profile`: the whole profile, or one field when `field` is given. */
  queryProfile(serverName: string, userId: string, field?: string): Promise<JsonObject>;
  /** `GET /query/directory`. */
  queryDirectory(serverName: string, alias: string): Promise<RemoteAlias>;
  /** `POST /user/keys/query`: device ids per user, an empty list for all of a user's devices. */
  queryKeys(serverName: string, deviceKeys: Readonly<Record<string, readonly string[]>>, timeoutMs: number): Promise<RemoteKeysQuery>;
  /** `POST /user/keys/claim`: algorithm per device per user; answers key id → key per device per user. */
  claimKeys(
    serverName: string, oneTimeKeys: Readonly<Record<string, Readonly<Record<string, string>>>>, timeoutMs: number,
  ): Promise<Readonly<Record<string, JsonObject>>>;
  /** `GET`/`POST /publicRooms`: the page as the remote answered it (`chunk` checked to be a list of objects). */
  publicRooms(serverName: string, request: RemotePublicRoomsRequest): Promise<JsonObject>;
}
