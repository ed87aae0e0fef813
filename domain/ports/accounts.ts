/**
 * Ports the account use-cases (registration, login, devices, access tokens, user-interactive auth,
 * profiles) need from the outside. Spec: client-server-api § Client Authentication, § Device
 * management, § Profiles. infra/stores implements them over SQL.
 */
import type { JsonValue } from '../json.ts';

export interface UserAccount {
  readonly userId: string;
  /** PHC string from a PasswordHasher; null when the account cannot log in with a password. */
  readonly passwordHash: string | null;
  readonly isGuest: boolean;
  /** Server administrator (shared-secret registration can create one). */
  readonly isAdmin: boolean;
  readonly createdTs: number;
  /** Deactivated accounts cannot log in; their user id stays taken (account_deactivation.yaml). */
  readonly deactivated?: boolean;
  /** Since v1.12 (§ Account locking): every request but logout answers 401 M_USER_LOCKED. */
  readonly locked?: boolean;
  /** Since v1.13 (§ Account suspension): reads work, most writes answer 403 M_USER_SUSPENDED. */
  readonly suspended?: boolean;
}

export interface Device {
  readonly userId: string;
  readonly deviceId: string;
  /** Absent when no name has been set (client_device.yaml). */
  readonly displayName?: string;
  readonly lastSeenIp?: string;
  readonly lastSeenTs?: number;
}

/** Where a request came from, as the HTTP layer sees it. */
export interface ClientConnection {
  readonly ip?: string;
  readonly userAgent?: string;
}

/** One connection of a device: the last time a request came from that address with that User-Agent. */
export interface SeenConnection {
  readonly deviceId: string;
  readonly ip: string;
  readonly userAgent: string;
  readonly lastSeen: number;
}

/** Who an access token belongs to. The store keeps only the token's SHA-256, never the token. */
export interface AccessTokenOwner {
  readonly userId: string;
  readonly deviceId: string;
  readonly isGuest: boolean;
  /** Refreshable tokens only (client-server-api § Refreshing access tokens): when it stops working. */
  readonly expiresTs?: number;
  /** Refreshable tokens only: SHA-256 of the refresh token issued with it. */
  readonly refreshTokenHash?: string;
  /** Read side: that refresh token replaced one that is still valid until this token is first used. */
  readonly replacesRefreshToken?: boolean;
  /** Read side: the owner's account is an administrator / locked / suspended (set only when true). */
  readonly isAdmin?: boolean;
  readonly locked?: boolean;
  readonly suspended?: boolean;
}

/** The tokens `/refresh` issues in place of a used refresh token (hashes only). */
export interface RefreshedTokens {
  readonly refreshTokenHash: string;
  readonly accessTokenHash: string;
  readonly accessExpiresTs: number;
}

/**
 * A user-interactive auth session: which operation it guards, whom it authenticates (once known)
 * and the stages completed so far. A session is bound to one operation so that completing stages
 * for one request cannot authorise another.
 */
export interface UiaSession {
  readonly sessionId: string;
  /**
   * What the session is bound to: the guarded request's method, path and parameters, as the
   * use-case layer digests them (domain/app/accounts/uia.ts).
   */
  readonly operation: string;
  /** The user the session authenticates; absent for registration. */
  readonly userId?: string;
  readonly completed: readonly string[];
  readonly createdTs: number;
  /** What the operation keeps across retries of the session (e.g. the user a registration created). */
  readonly data: Readonly<Record<string, JsonValue>>;
}

/** Profile fields by key (`displayname`, `avatar_url`, `m.tz`, custom namespaced keys). */
export type ProfileFields = Readonly<Record<string, JsonValue>>;

export interface NewUserAccount {
  readonly userId: string;
  readonly passwordHash: string | null;
  readonly isGuest: boolean;
  readonly isAdmin: boolean;
  readonly createdTs: number;
  /** Profile fields to create with the account (e.g. the default displayname). */
  readonly profile: ProfileFields;
}

export interface AccountStore {
  /** Creates the account and its profile; false (and no change) when the user id is taken. */
  createUser(user: NewUserAccount): Promise<boolean>;
  getUser(userId: string): Promise<UserAccount | undefined>;
  setPasswordHash(userId: string, passwordHash: string): Promise<void>;
  /** The next numeric localpart for a guest account (client-server-api § Guest access; Synapse's are sequential). */
  nextGuestLocalpart(): Promise<string>;
  /**
   * Makes a guest account an ordinary one with this password and revokes every token it holds
   * (a guest's token must not outlive the guest). False, and no change, when it is not a guest.
   */
  upgradeGuest(userId: string, passwordHash: string): Promise<boolean>;
  /** Marks the account deactivated and forgets its password hash; the row (and user id) stays. */
  deactivateUser(userId: string): Promise<void>;
  /** Locks or unlocks the account (admin.yaml `PUT /admin/lock`); tokens are kept. No-op for an unknown user. */
  setUserLocked(userId: string, locked: boolean): Promise<void>;
  /** Suspends or unsuspends the account (admin.yaml `PUT /admin/suspend`). No-op for an unknown user. */
  setUserSuspended(userId: string, suspended: boolean): Promise<void>;

  /** Creates the device, or keeps an existing one (its display name unchanged). */
  ensureDevice(userId: string, deviceId: string, displayName: string | undefined, now: number): Promise<{ created: boolean }>;
  getDevice(userId: string, deviceId: string): Promise<Device | undefined>;
  listDevices(userId: string): Promise<Device[]>;
  /** False when the user has no such device. */
  setDeviceDisplayName(userId: string, deviceId: string, displayName: string): Promise<boolean>;
  /**
   * Records activity seen through an access token (best effort): the device's `last_seen_*` and the
   * connection it came from: one per IP address, with the last User-Agent seen (as Synapse's `user_ips`).
   */
  recordDeviceSeen(userId: string, deviceId: string, connection: ClientConnection, now: number): Promise<void>;
  /** The connections seen per device of the user (devices that still exist), most recent first. */
  listConnections(userId: string): Promise<SeenConnection[]>;
  /** Deletes the devices and every access token bound to them; returns the ids that existed. */
  deleteDevices(userId: string, deviceIds: readonly string[]): Promise<string[]>;
  /** Deletes all the user's devices except `keepDeviceId` (and their tokens); returns their ids. */
  deleteOtherDevices(userId: string, keepDeviceId: string | undefined): Promise<string[]>;

  /** `tokenHash` is the SHA-256 of the token, hex. */
  addAccessToken(tokenHash: string, owner: AccessTokenOwner, now: number): Promise<void>;
  findAccessToken(tokenHash: string): Promise<AccessTokenOwner | undefined>;
  /** Invalidates every token bound to the device, refresh tokens included (the device itself stays). */
  deleteAccessTokensOfDevice(userId: string, deviceId: string): Promise<void>;
  /** Stores a refresh token (its SHA-256) bound to the device, replacing no earlier one. */
  addRefreshToken(tokenHash: string, owner: { readonly userId: string; readonly deviceId: string }, now: number): Promise<void>;
  /**
   * Atomically uses a refresh token: revokes the token it replaced, any tokens issued by an earlier
   * use of it, and its access token; stores `next` (replacing it). Undefined when it is unknown.
   */
  refreshSession(refreshTokenHash: string, next: RefreshedTokens, now: number): Promise<AccessTokenOwner | undefined>;
  /** The new tokens were used: the refresh token that `refreshTokenHash` replaced is revoked. */
  retireReplacedRefreshToken(refreshTokenHash: string): Promise<void>;

  createUiaSession(session: UiaSession): Promise<void>;
  getUiaSession(sessionId: string): Promise<UiaSession | undefined>;
  updateUiaSession(sessionId: string, completed: readonly string[], userId: string | undefined): Promise<void>;
  /** Sets one key of the session's `data`. */
  setUiaSessionData(sessionId: string, key: string, value: JsonValue): Promise<void>;
  deleteUiaSession(sessionId: string): Promise<void>;
  /** Deletes sessions created before `createdBefore`. */
  deleteExpiredUiaSessions(createdBefore: number): Promise<void>;

  /** The user's profile fields, or undefined when the user does not exist. */
  getProfile(userId: string): Promise<ProfileFields | undefined>;
  setProfileField(userId: string, key: string, value: JsonValue): Promise<void>;
  deleteProfileField(userId: string, key: string): Promise<void>;

  /** OpenID tokens (client-server-api § OpenID): only the SHA-256 is kept, with its expiry. */
  addOpenIdToken(tokenHash: string, userId: string, expiresTs: number): Promise<void>;
  /** The token's user when it exists and has not expired at `now`. */
  findOpenIdToken(tokenHash: string, now: number): Promise<string | undefined>;

  /** Stores a single-use nonce for shared-secret registration. */
  addRegistrationNonce(nonce: string, expiresTs: number): Promise<void>;
  /** Atomically removes the nonce; true only if it existed and had not expired at `now`. */
  consumeRegistrationNonce(nonce: string, now: number): Promise<boolean>;
}

/**
 * Google's reCAPTCHA siteverify API (or one speaking its protocol): whether a captcha response is
 * a solved challenge. False for a refused one and for any failure to get an answer.
 */
export interface RecaptchaVerifier {
  verify(response: string, remoteIp: string | undefined): Promise<boolean>;
}

/** Slow, salted password hashing. Hashes are self-describing (PHC string format). */
export interface PasswordHasher {
  hash(password: string): Promise<string>;
  /** Constant-time comparison; false (never a throw) for a malformed or foreign hash. */
  verify(password: string, passwordHash: string): Promise<boolean>;
}

/** Milliseconds since the epoch. Injected so use-cases stay deterministic in tests. */
export interface Clock {
  now(): number;
}

/** Unpredictable strings from a cryptographically secure source. */
export interface Random {
  /** `length` characters drawn uniformly from `alphabet`. */
  string(length: number, alphabet: string): string;
}
