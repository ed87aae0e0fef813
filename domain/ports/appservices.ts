/**
 * Talking to application services (application-service-api.md): what the homeserver asks of a
 * bridge. Every request carries the bridge's `hs_token` as `Authorization: Bearer` (spec v1.4+).
 * infra/appservices implements it over HTTP.
 */
import type { AppserviceRegistration } from '../appservices/registration.ts';
import type { JsonObject } from '../json.ts';

/** How a request to a bridge ended when it did not succeed. */
export type AppserviceFailure =
  /** No answer: the connection failed, or no answer came in time (`timedOut`). */
  | { readonly kind: 'unreachable'; readonly timedOut: boolean; readonly detail: string }
  /** A non-2xx answer: its status, its body (bounded) and the body's `errcode` when it had one. */
  | { readonly kind: 'status'; readonly status: number; readonly body: string; readonly errcode?: string; readonly detail: string };

export class AppserviceRequestError extends Error {
  readonly failure: AppserviceFailure;
  constructor(failure: AppserviceFailure) {
    super(failure.detail);
    this.name = 'AppserviceRequestError';
    this.failure = failure;
  }
}

export interface AppserviceClient {
  /** `PUT /_matrix/app/v1/transactions/{txnId}`; resolves on 2xx, else throws AppserviceRequestError. */
  sendTransaction(registration: AppserviceRegistration, txnId: string, body: JsonObject, options?: { readonly timeoutMs?: number }): Promise<void>;
  /** `GET /_matrix/app/v1/users/{userId}`: true when the bridge answered 2xx (it created the user). */
  queryUser(registration: AppserviceRegistration, userId: string): Promise<boolean>;
  /** `GET /_matrix/app/v1/rooms/{roomAlias}`: true when the bridge answered 2xx (it created the room and alias). */
  queryAlias(registration: AppserviceRegistration, alias: string): Promise<boolean>;
  /** `POST /_matrix/app/v1/ping`; throws AppserviceRequestError. */
  ping(registration: AppserviceRegistration, transactionId: string | undefined, options?: { readonly timeoutMs?: number }): Promise<void>;
  /** `GET /_matrix/app/v1/thirdparty/protocol/{protocol}`: the bridge's protocol metadata, undefined on failure. */
  thirdPartyProtocol(registration: AppserviceRegistration, protocol: string): Promise<JsonObject | undefined>;
  /**
   * `GET /_matrix/app/v1/thirdparty/{kind}[/{protocol}]?…`: the bridge's matches, [] on failure.
   * Without a protocol the query is a reverse lookup (`alias=` for locations, `userid=` for users).
   */
  thirdPartyLookup(
    registration: AppserviceRegistration, kind: 'location' | 'user', protocol: string | undefined, query: Readonly<Record<string, string>>,
  ): Promise<JsonObject[]>;
}
