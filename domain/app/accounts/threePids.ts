/**
 * Third-party identifiers (client-server-api § Adding Account Administrative Contact Information,
 * administrative_contact.yaml). This server sends no email or SMS and talks to no identity
 * server, so no 3PID is ever validated or bound: the list is empty and every way of adding one
 * fails the way the spec and Synapse say it does for a server without that set up.
 */
import { MatrixError } from '../../errors.ts';
import type { JsonObject } from '../../json.ts';
import type { AccountsContext, AuthDict, Requester } from './context.ts';
import { invalidParam, missingParam } from './params.ts';
import { PASSWORD_FLOWS, userInteractiveAuth } from './uia.ts';

/** Synapse's `assert_params_in_dict`: every missing key named in one M_MISSING_PARAM. */
const requireParams = (body: JsonObject, keys: readonly string[]): void => {
  const missing = keys.filter((key) => body[key] === undefined);
  if (missing.length === 1) throw missingParam(missing[0]!);
  if (missing.length > 1) throw new MatrixError('M_MISSING_PARAM', 400, `Missing params: ${missing.join(', ')}`);
};

const noValidatedSession = (status: 400 | 403): MatrixError =>
  new MatrixError('M_THREEPID_AUTH_FAILED', status, 'No validated 3pid session found');

/** `GET /account/3pid`. */
export const listThreePids = (): { threepids: JsonObject[] } => ({ threepids: [] });

export type ThreePidMedium = 'email' | 'msisdn';
/** What the token would validate the address for: adding it to an account, registering, resetting a password. */
export type ThreePidPurpose = 'account' | 'registration' | 'passwordReset';

interface Refusal {
  readonly errcode: string;
  readonly status: 400 | 403;
  readonly message: string;
}

/**
 * Each `…/requestToken` refused with what its endpoint's definition lists for "the server will not
 * do this", and Synapse's message for a server without email or SMS set up. administrative_contact.yaml:
 * 400 M_THREEPID_MEDIUM_NOT_SUPPORTED. registration.yaml: 403 M_THREEPID_DENIED ("does not permit
 * the address to be bound"); password_management.yaml: 403 M_THREEPID_DENIED ("does not allow the
 * third-party identifier as a contact option"). Synapse answers the last two 400 M_UNKNOWN, and has
 * no `/account/password/msisdn/requestToken` at all.
 */
const REFUSALS: Readonly<Record<ThreePidPurpose, Readonly<Record<ThreePidMedium, Refusal>>>> = {
  account: {
    email: { errcode: 'M_THREEPID_MEDIUM_NOT_SUPPORTED', status: 400, message: 'Adding an email to your account is disabled on this server' },
    msisdn: { errcode: 'M_THREEPID_MEDIUM_NOT_SUPPORTED', status: 400, message: 'Adding phone numbers to user account is not supported by this homeserver' },
  },
  registration: {
    email: { errcode: 'M_THREEPID_DENIED', status: 403, message: 'Email-based registration has been disabled on this server' },
    msisdn: { errcode: 'M_THREEPID_DENIED', status: 403, message: 'Registration by phone number is not supported on this homeserver' },
  },
  passwordReset: {
    email: { errcode: 'M_THREEPID_DENIED', status: 403, message: 'Email-based password resets have been disabled on this server' },
    msisdn: { errcode: 'M_THREEPID_DENIED', status: 403, message: 'Password resets by phone number are not supported on this homeserver' },
  },
};

/** The client secret's grammar (identity/definitions/request_msisdn_validation.yaml `client_secret`). */
const CLIENT_SECRET = /^[0-9a-zA-Z.=_-]{1,255}$/;
/** ISO 3166-1 alpha-2, as request_msisdn_validation.yaml asks for `country`. */
const COUNTRY = /^[A-Z]{2}$/;
/** What a phone number parser accepts, roughly: 2 to 17 digits once the usual punctuation is gone. */
const PHONE_NUMBER = /^\+?\d{2,17}$/;

/**
 * The body of a phone number `requestToken` (request_msisdn_validation.yaml), checked as Synapse
 * checks it before it looks for an SMS sender: every missing key in one M_MISSING_PARAM, then the
 * client secret and the number.
 */
const checkMsisdnRequest = (body: JsonObject): void => {
  requireParams(body, ['client_secret', 'country', 'phone_number', 'send_attempt']);
  const { client_secret: secret, country, phone_number: phoneNumber, send_attempt: sendAttempt } = body;
  if (typeof secret !== 'string' || !CLIENT_SECRET.test(secret)) throw new MatrixError('M_INVALID_PARAM', 400, 'Invalid client_secret parameter');
  if (typeof sendAttempt !== 'number' || !Number.isInteger(sendAttempt)) throw invalidParam('send_attempt', 'an integer');
  if (typeof country !== 'string' || !COUNTRY.test(country)) throw invalidParam('country', 'an ISO 3166-1 alpha-2 country code');
  if (body.id_server !== undefined && body.id_access_token === undefined) {
    throw new MatrixError('M_INVALID_PARAM', 400, 'id_access_token is required if an id_server is supplied.');
  }
  if (typeof phoneNumber !== 'string' || !PHONE_NUMBER.test(phoneNumber.replace(/[\s().\/-]/g, ''))) {
    throw new MatrixError('M_INVALID_PARAM', 400, 'Unable to parse phone number');
  }
};

/**
 * Every `POST …/{email,msisdn}/requestToken`: this server sends no email or SMS, so none can be
 * sent. Synapse refuses email requests before reading the body (nothing in it could change the
 * answer) and checks phone number requests first, so the body is read only for `msisdn`.
 */
export const requestThreePidToken = async (
  purpose: ThreePidPurpose, medium: ThreePidMedium, readBody: () => Promise<JsonObject>,
): Promise<never> => {
  if (medium === 'msisdn') checkMsisdnRequest(await readBody());
  const refusal = REFUSALS[purpose][medium];
  throw new MatrixError(refusal.errcode, refusal.status, refusal.message);
};

/** `POST /account/3pid` (deprecated): the credentials cannot be verified, so 403 as the spec lists. */
export const addThreePidDeprecated = (body: JsonObject): never => {
  if (body.three_pid_creds === undefined && body.threePidCreds === undefined) throw missingParam('three_pid_creds');
  throw noValidatedSession(403);
};

/** `POST /account/3pid/add`: user-interactive auth first (as Synapse), then no session to add from. */
export const addThreePid = async (ctx: AccountsContext, requester: Requester, body: JsonObject, auth: AuthDict): Promise<never> => {
  requireParams(body, ['client_secret', 'sid']);
  await userInteractiveAuth(ctx, { operation: 'add_threepid', flows: PASSWORD_FLOWS, auth, userId: requester.userId });
  throw noValidatedSession(400);
};

/** `POST /account/3pid/bind`: binding goes through an identity server, which this server does not use. */
export const bindThreePid = (body: JsonObject): never => {
  requireParams(body, ['id_server', 'sid', 'id_access_token', 'client_secret']);
  throw new MatrixError('M_SERVER_NOT_TRUSTED', 400, 'This homeserver does not use identity servers');
};

/**
 * `POST /account/3pid/delete` and `/unbind`: nothing is bound, so nothing to do; `no-support` as
 * Synapse answers when no identity server is known for the address.
 */
export const removeThreePid = (body: JsonObject): { id_server_unbind_result: 'no-support' } => {
  requireParams(body, ['medium', 'address']);
  return { id_server_unbind_result: 'no-support' };
};
