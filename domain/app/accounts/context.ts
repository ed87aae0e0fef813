import type { AppserviceRegistration } from '../../appservices/index.ts';
import type { AppserviceQueries } from '../appservices/index.ts';
import type { JsonObject } from '../../json.ts';
import type { AccountStore, Clock, PasswordHasher, ProfileFields, Random, RecaptchaVerifier } from '../../ports/accounts.ts';
import type { RemoteServers } from '../../ports/remoteServers.ts';
import type { FailedAttempts } from './failedAttempts.ts';
import type { IdentityServers, Mailer, ThreePidStore } from '../../ports/threePids.ts';

/** Everything the account use-cases depend on; built once by the composition root. */
export interface AccountsContext {
  readonly store: AccountStore;
  readonly hasher: PasswordHasher;
  readonly clock: Clock;
  readonly random: Random;
  /** This homeserver's server name, the domain of local user ids. */
  readonly serverName: string;
  readonly registration: 'disabled' | 'open';
  /** `allow_guest_access`: guest accounts may be registered (client-server-api § Guest access). Off when absent. */
  readonly allowGuestAccess?: boolean;
  /** Other homeservers, asked for their users' profiles; without it those are not found. */
  readonly remoteServers?: Pick<RemoteServers, 'queryProfile'>;
  /** Enables `/_synapse/admin/v1/register` when set. */
  readonly registrationSharedSecret?: string;
  /**
   * Called after a local user's profile changed. The rooms layer will use it to send updated
   * `m.room.member` events (client-server-api § Events on Change of Profile Information).
   */
  readonly onProfileChanged?: (userId: string, profile: ProfileFields) => Promise<void> | void;
  /**
   * Called after devices of a local user were deleted (device deletion, logout, password change):
   * their E2EE keys and to-device queues go, and their owner's device list changes.
   */
  readonly onDevicesDeleted?: (userId: string, deviceIds: readonly string[]) => Promise<void> | void;
  /**
   * Called after a local user's device was created (login, registration) or renamed: their device
   * list changed, for their other devices, the users sharing a room with them and other servers.
   */
  readonly onDeviceChanged?: (userId: string, deviceId: string) => Promise<void> | void;
  /**
   * Called after a local account was deactivated (its devices already gone): the composition root
   * makes it leave its rooms and drops its pushers, layers this one may not import.
   */
  readonly onAccountDeactivated?: (userId: string) => Promise<void> | void;
  /**
   * Called after `onAccountDeactivated` when the user asked for erasure (`erase: true`): their
   * events' content goes from the read models and the log (docs/erasure.md).
   */
  readonly onAccountErased?: (userId: string) => Promise<void> | void;
  /** How long an access token issued with a refresh token lives; five minutes by default (as Synapse). */
  readonly refreshableAccessTokenLifetimeMs?: number;
  /** How long an OpenID token lives; one hour by default (as Synapse). */
  readonly openIdTokenLifetimeMs?: number;
  /** How long a user-interactive auth session lives; 15 minutes by default. */
  readonly uiaSessionLifetimeMs?: number;
  /** Third-party identifiers; without them none can be validated, added or bound. */
  readonly threePids?: ThreePidServices;
  /** How long a shared-secret registration nonce stays usable; 60 s by default (as Synapse). */
  readonly registrationNonceLifetimeMs?: number;
  /** Failed password attempts in user-interactive auth, limited per user; Synapse's limit when absent. */
  readonly failedPasswordAttempts?: FailedAttempts;
  /** Registration asks for `m.login.recaptcha` (Synapse's `enable_registration_captcha`). */
  readonly registrationCaptcha?: { readonly publicKey: string; readonly verifier: RecaptchaVerifier };
  /**
   * Registration asks for `m.login.terms`, accepting this policy (Synapse's `user_consent`); its
   * URL is read when offered (the public base URL may be known only once the server listens).
   */
  readonly registrationTerms?: { readonly version: string; readonly name: string; readonly url: () => string };
  /**
   * The application services (`app_service_config_files`): their as_tokens authenticate, their
   * namespaces are theirs to register in (application-service-api.md § Client-Server API Extensions).
   */
  readonly appservices?: readonly AppserviceRegistration[];
  /** Bridges asked about users of ours nobody registered (profile lookups); absent: unknown stays unknown. */
  readonly bridgeQueries?: AppserviceQueries;
}

/** Third-party identifiers: where they are kept, how tokens are mailed, which identity servers are trusted. */
export interface ThreePidServices {
  readonly store: ThreePidStore;
  /** Set when email is configured (`email:`); without it no email can be validated. */
  readonly email?: {
    readonly mailer: Mailer;
    readonly tokenLifetimeMs: number;
    /** The client-server API's public base URL, where the mailed link submits the token. */
    readonly publicBaseUrl: () => string;
    /** Where the mail sends the user back to once validated (`email.client_base_url`). */
    readonly clientBaseUrl?: string;
  };
  /** Identity servers (`id_server`, host[:port]) this server talks to for its users; none when empty. */
  readonly trustedIdServers: readonly string[];
  readonly identityServers?: IdentityServers;
}

/** The authenticated requester, as `authenticate` resolves an access token. */
export interface Requester {
  readonly userId: string;
  /**
   * '' when the request has no device: an application service asserting a user without
   * `device_id` (application-service-api.md § Identity assertion); no real device id is empty.
   */
  readonly deviceId: string;
  readonly isGuest: boolean;
  /** The access token presented, so password changes can keep it. */
  readonly accessToken?: string;
  /** Set when the account is suspended (§ Account suspension): writes then answer M_USER_SUSPENDED. */
  readonly suspended?: boolean;
  /** Set when the account is a server administrator (what `/capabilities` offers it). */
  readonly isAdmin?: boolean;
  /** Set when the request was authenticated by this application service's as_token. */
  readonly appservice?: AppserviceRegistration;
}

/**
 * A request behind user-interactive auth, as the client made it: the stage attempt is its body's
 * `auth`, and a UIA session is bound to its method, path (and parameters, see uia.ts).
 */
export interface GuardedRequest {
  readonly method: string;
  /** The request path, without the query string. */
  readonly uri: string;
  readonly body: JsonObject;
  /** The client's address, for stages that check it (reCAPTCHA's `remoteip`). */
  readonly clientIp?: string;
}
