/**
 * KeyRing: the public keys of other servers, with their validity (server-server-api.md
 * § Retrieving server keys). Whoever verifies a remote signature — an event's, a request's
 * X-Matrix header — asks here; the adapter fetches, verifies and caches keys as it must.
 */
import type { JsonObject } from '../json.ts';

export interface VerifyKeyQuery {
  readonly serverName: string;
  /** `ed25519:…` */
  readonly keyId: string;
  /**
   * The key must be valid at least until this time (ms since the epoch); 0 accepts any key the
   * server ever published. `keyRequiredValidAt` (domain/federation/keys.ts) derives it from an
   * event's room version and `origin_server_ts`; a request signature needs the current time.
   */
  readonly validAt: number;
}

/** Why no key could be given. */
export type VerifyKeyFailure =
  /** The server's key document was obtained but does not list the key. */
  | 'unknown_key'
  /** The key is known but not valid until `validAt`, and no fresher document could be obtained. */
  | 'expired'
  /** Neither the server nor a trusted notary gave a usable document (recently, or just now). */
  | 'unreachable';

export type VerifyKeyAnswer =
  | { readonly found: true; readonly publicKeyBase64: string; readonly validUntilTs: number }
  | { readonly found: false; readonly reason: VerifyKeyFailure; readonly detail: string };

export interface KeyRing {
  /** The public key `serverName` signed with under `keyId`, if it was valid at `validAt`. */
  verifyKey(query: VerifyKeyQuery): Promise<VerifyKeyAnswer>;
  /**
   * As a notary (keys_query.yaml): the key documents cached for `serverName`, as its server signed
   * them, refreshed first when a requested key is missing or valid for less than
   * `minimumValidUntilTs`. Empty when the server is unreachable and nothing is cached.
   */
  serverKeyDocuments(serverName: string, keyIds: readonly string[], minimumValidUntilTs: number): Promise<readonly JsonObject[]>;
}
