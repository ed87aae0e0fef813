/**
 * Ports of third-party identifiers (client-server-api § Adding Account Administrative Contact
 * Information): validation sessions, the 3PIDs bound to accounts, the mail that carries a
 * validation token, and the identity servers a client names (identity_service_api).
 */
import type { JsonObject } from '../json.ts';

export type ThreePidMedium = 'email' | 'msisdn';

/**
 * A validation session (`sid`): the address a token was sent to, the client secret that owns it and
 * the last `send_attempt` (a repeat of it sends nothing). Only the SHA-256 of the token is kept.
 */
export interface ThreePidValidationSession {
  readonly sessionId: string;
  readonly medium: ThreePidMedium;
  readonly address: string;
  readonly clientSecret: string;
  readonly lastSendAttempt: number;
  readonly tokenHash: string;
  readonly tokenExpiresTs: number;
  /** Where the mailed link sends the user once the token is submitted (`next_link`). */
  readonly nextLink?: string;
  /** When the token was submitted; absent while unvalidated. */
  readonly validatedTs?: number;
  readonly createdTs: number;
}

/** A 3PID bound to a local account (`GET /account/3pid`). */
export interface AccountThreePid {
  readonly userId: string;
  readonly medium: ThreePidMedium;
  readonly address: string;
  readonly validatedTs: number;
  readonly addedTs: number;
}

/** A 3PID a user bound at an identity server through us, so that deleting it can unbind it there. */
export interface IdentityServerBinding {
  readonly userId: string;
  readonly medium: ThreePidMedium;
  readonly address: string;
  readonly idServer: string;
}

export interface ThreePidStore {
  /** The session a client secret opened for the address, if any. */
  findValidationSession(medium: ThreePidMedium, address: string, clientSecret: string): Promise<ThreePidValidationSession | undefined>;
  getValidationSession(sessionId: string): Promise<ThreePidValidationSession | undefined>;
  /** Creates the session, or replaces its token and send attempt (same sid). */
  upsertValidationSession(session: ThreePidValidationSession): Promise<void>;
  /** Deletes sessions whose token expired before `before`. */
  deleteExpiredValidationSessions(before: number): Promise<void>;
  /** Marks the session validated (idempotent: the first time stays). */
  markValidated(sessionId: string, now: number): Promise<void>;

  /** Remembers which validated 3PID completed `m.login.email.identity` in a user-interactive auth session. */
  recordUiaThreePid(uiaSessionId: string, medium: ThreePidMedium, address: string, validatedTs: number): Promise<void>;
  uiaThreePid(uiaSessionId: string): Promise<{ medium: ThreePidMedium; address: string; validatedTs: number } | undefined>;

  listThreePids(userId: string): Promise<AccountThreePid[]>;
  /** The account the 3PID is bound to. */
  ownerOf(medium: ThreePidMedium, address: string): Promise<string | undefined>;
  /** False (and no change) when the 3PID is bound to an account already. */
  addThreePid(threePid: AccountThreePid): Promise<boolean>;
  /** False when the user had no such 3PID. */
  deleteThreePid(userId: string, medium: ThreePidMedium, address: string): Promise<boolean>;

  addBinding(binding: IdentityServerBinding): Promise<void>;
  bindings(userId: string, medium: ThreePidMedium, address: string): Promise<IdentityServerBinding[]>;
  /** Every binding of the user's (deactivation unbinds them all). */
  bindingsOf(userId: string): Promise<IdentityServerBinding[]>;
  deleteBinding(binding: IdentityServerBinding): Promise<void>;
}

/** One mail to one recipient. */
export interface OutgoingMail {
  readonly to: string;
  readonly subject: string;
  readonly text: string;
}

/** Sends mail (SMTP in infra/mail). Rejects when the mail server did not accept it. */
export interface Mailer {
  send(mail: OutgoingMail): Promise<void>;
}

/** An identity server's answer other than 2xx, or one that could not be had. */
export class IdentityServerError extends Error {
  /** The HTTP status, or undefined when no answer came (unreachable, timeout, bad JSON). */
  readonly status: number | undefined;
  readonly errcode: string | undefined;

  constructor(message: string, status?: number, errcode?: string) {
    super(message);
    this.name = 'IdentityServerError';
    this.status = status;
    this.errcode = errcode;
  }
}

/**
 * Identity servers (identity_service_api v2), addressed by the `id_server` a client names
 * (a hostname with an optional port). JSON in, JSON out; bounded in time and size.
 */
export interface IdentityServers {
  /** `accessToken` as `Authorization: Bearer`; `signed` requests carry this server's X-Matrix signature instead. */
  request(
    idServer: string,
    method: 'GET' | 'POST',
    path: string,
    options: { readonly body?: JsonObject; readonly accessToken?: string; readonly signed?: boolean },
  ): Promise<JsonObject>;
}
