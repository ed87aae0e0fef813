/**
 * Third-party identifiers (client-server-api § Adding Account Administrative Contact Information,
 * administrative_contact.yaml; registration.yaml and password_management.yaml for their
 * `requestToken`s). With email configured, this server validates addresses itself: a
 * `requestToken` opens a validation session (`sid`) and mails a token, whose submission validates
 * the session; the validated session then proves the address to `/account/3pid/add`, to the
 * `m.login.email.identity` stage of registration and password resets. Binding an address to a
 * Matrix id at an identity server goes through the identity servers this server trusts. No SMS is
 * ever sent.
 */
import { MatrixError } from '../../errors.ts';
import type { JsonObject } from '../../json.ts';
import { IdentityServerError, type ThreePidMedium } from '../../ports/threePids.ts';
import type { AccountsContext, GuardedRequest, Requester, ThreePidServices } from './context.ts';
import { CLIENT_SECRET, SESSION_RETENTION_MS, validatedThreePid } from './emailIdentity.ts';
import { invalidParam, missingParam } from './params.ts';
import { hashAccessToken, newSessionId, newValidationToken } from './secrets.ts';
import { finishUserInteractiveAuth, PASSWORD_FLOWS, userInteractiveAuth } from './uia.ts';

export type { ThreePidMedium } from '../../ports/threePids.ts';

/** Synapse's `assert_params_in_dict`: every missing key named in one M_MISSING_PARAM. */
const requireParams = (body: JsonObject, keys: readonly string[]): void => {
  const missing = keys.filter((key) => body[key] === undefined);
  if (missing.length === 1) throw missingParam(missing[0]!);
  if (missing.length > 1) throw new MatrixError('M_MISSING_PARAM', 400, `Missing params: ${missing.join(', ')}`);
};

const noValidatedSession = (status: 400 | 403): MatrixError =>
  new MatrixError('M_THREEPID_AUTH_FAILED', status, 'No validated 3pid session found');

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

/** ISO 3166-1 alpha-2, as request_msisdn_validation.yaml asks for `country`. */
const COUNTRY = /^[A-Z]{2}$/;
/** What a phone number parser accepts, roughly: 2 to 17 digits once the usual punctuation is gone. */
const PHONE_NUMBER = /^\+?\d{2,17}$/;
/** Synapse's MAX_EMAIL_ADDRESS_LENGTH. */
const MAX_EMAIL_LENGTH = 500;
/** A `next_link` is stored with the session and redirected to once validated: bounded like any URL. */
const MAX_NEXT_LINK_LENGTH = 2048;
/** Synapse refuses send attempts it cannot store; a 64-bit column takes any safe integer. */
const isSendAttempt = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;

const checkClientSecret = (secret: unknown): string => {
  if (typeof secret !== 'string' || !CLIENT_SECRET.test(secret)) throw new MatrixError('M_INVALID_PARAM', 400, 'Invalid client_secret parameter');
  return secret;
};

const checkIdServerPair = (body: JsonObject): void => {
  if (body.id_server !== undefined && body.id_access_token === undefined) {
    throw new MatrixError('M_INVALID_PARAM', 400, 'id_access_token is required if an id_server is supplied.');
  }
};

/**
 * The body of a phone number `requestToken` (request_msisdn_validation.yaml), checked as Synapse
 * checks it before it looks for an SMS sender: every missing key in one M_MISSING_PARAM, then the
 * client secret and the number.
 */
const checkMsisdnRequest = (body: JsonObject): void => {
  requireParams(body, ['client_secret', 'country', 'phone_number', 'send_attempt']);
  const { client_secret: secret, country, phone_number: phoneNumber, send_attempt: sendAttempt } = body;
  checkClientSecret(secret);
  if (typeof sendAttempt !== 'number' || !Number.isInteger(sendAttempt)) throw invalidParam('send_attempt', 'an integer');
  if (typeof country !== 'string' || !COUNTRY.test(country)) throw invalidParam('country', 'an ISO 3166-1 alpha-2 country code');
  checkIdServerPair(body);
  if (typeof phoneNumber !== 'string' || !PHONE_NUMBER.test(phoneNumber.replace(/[\s().\/-]/g, ''))) {
    throw new MatrixError('M_INVALID_PARAM', 400, 'Unable to parse phone number');
  }
};

/**
 * What no address this server mails may hold: controls and spaces (header injection), and the
 * separators and quoting that would make one `to` several recipients.
 */
const UNMAILABLE = /[\x00-\x20\x7f<>,;:"()[\]\\]/;

/**
 * Synapse's `canonicalise_email`: trimmed, one `@`, the local part case-folded and the domain
 * lower-cased, so that one mailbox is one 3PID however it is typed.
 */
export const canonicaliseEmail = (raw: string): string => {
  const address = raw.trim();
  const parts = address.split('@');
  if (address.length > MAX_EMAIL_LENGTH || parts.length !== 2 || parts[0] === '' || parts[1] === '' || UNMAILABLE.test(address)) {
    throw new MatrixError('M_INVALID_PARAM', 400, 'Unable to parse email address');
  }
  return `${parts[0]!.toLowerCase()}@${parts[1]!.toLowerCase()}`;
};

interface EmailRequest {
  readonly clientSecret: string;
  readonly address: string;
  readonly sendAttempt: number;
  readonly nextLink?: string;
}

/** The body of an email `requestToken` (request_email_validation.yaml). */
const checkEmailRequest = (body: JsonObject): EmailRequest => {
  requireParams(body, ['client_secret', 'email', 'send_attempt']);
  const clientSecret = checkClientSecret(body.client_secret);
  if (!isSendAttempt(body.send_attempt)) throw invalidParam('send_attempt', 'a non-negative integer');
  if (typeof body.email !== 'string') throw invalidParam('email', 'a string');
  const nextLink = body.next_link;
  if (nextLink !== undefined && (typeof nextLink !== 'string' || nextLink.length > MAX_NEXT_LINK_LENGTH || !/^https?:\/\/\S+$/.test(nextLink))) {
    throw new MatrixError('M_INVALID_PARAM', 400, 'next_link must be an http(s) URL');
  }
  checkIdServerPair(body);
  return { clientSecret, address: canonicaliseEmail(body.email), sendAttempt: body.send_attempt, ...(nextLink === undefined ? {} : { nextLink }) };
};

/** Where the mailed link submits the token (`submit_url` of request_token_response.yaml). */
export const SUBMIT_TOKEN_PATH = '/_synapse/client/email/submit_token';

const MAIL_SUBJECTS: Readonly<Record<ThreePidPurpose, string>> = {
  account: 'Validate your email to add it to your account',
  registration: 'Validate your email to register',
  passwordReset: 'Validate your email to reset your password',
};

/**
 * Opens (or reuses) the validation session and mails its token. "If the `send_attempt` is
 * unchanged from a previous request, the server SHOULD NOT send another email": the same `sid`
 * comes back with nothing sent; a higher attempt mails a new token for the same session.
 */
const requestEmailToken = async (
  ctx: AccountsContext, threePids: ThreePidServices, email: NonNullable<ThreePidServices['email']>, purpose: ThreePidPurpose, body: JsonObject,
): Promise<{ sid: string; submit_url: string }> => {
  const request = checkEmailRequest(body);
  const owner = await threePids.store.ownerOf('email', request.address);
  if (purpose === 'passwordReset' && owner === undefined) throw new MatrixError('M_THREEPID_NOT_FOUND', 400, 'Email not found');
  if (purpose !== 'passwordReset' && owner !== undefined) throw new MatrixError('M_THREEPID_IN_USE', 400, 'Email is already in use');

  const submitUrl = `${email.publicBaseUrl().replace(/\/+$/, '')}${SUBMIT_TOKEN_PATH}`;
  const existing = await threePids.store.findValidationSession('email', request.address, request.clientSecret);
  if (existing !== undefined && request.sendAttempt <= existing.lastSendAttempt) return { sid: existing.sessionId, submit_url: submitUrl };

  const now = ctx.clock.now();
  await threePids.store.deleteExpiredValidationSessions(now - SESSION_RETENTION_MS);
  const sid = existing?.sessionId ?? newSessionId(ctx.random);
  const token = newValidationToken(ctx.random);
  const link = `${submitUrl}?${new URLSearchParams({ token, client_secret: request.clientSecret, sid }).toString()}`;
  try {
    await email.mailer.send({
      to: request.address,
      subject: `[${ctx.serverName}] ${MAIL_SUBJECTS[purpose]}`,
      text: `A request was made on ${ctx.serverName} with this address. If it was you, open this link to confirm it:\n\n${link}\n\n`
        + `or enter this code where you were asked: ${token}\n\n`
        + (email.clientBaseUrl === undefined ? '' : `Then return to ${email.clientBaseUrl}\n\n`)
        + 'If it was not you, ignore this mail.\n',
    });
  } catch {
    // The mail server's refusal is no fault of the client's request (Synapse answers 500 too).
    throw new MatrixError('M_UNKNOWN', 500, 'An error was encountered when sending the email');
  }
  await threePids.store.upsertValidationSession({
    sessionId: sid, medium: 'email', address: request.address, clientSecret: request.clientSecret,
    lastSendAttempt: request.sendAttempt, tokenHash: hashAccessToken(token), tokenExpiresTs: now + email.tokenLifetimeMs,
    ...(existing?.validatedTs === undefined ? {} : { validatedTs: existing.validatedTs }), createdTs: existing?.createdTs ?? now,
    ...(request.nextLink === undefined ? {} : { nextLink: request.nextLink }),
  });
  return { sid, submit_url: submitUrl };
};

/**
 * Every `POST …/{email,msisdn}/requestToken`. No SMS is ever sent; email only when configured.
 * Without email, Synapse refuses email requests before reading the body (nothing in it could
 * change the answer) and checks phone number requests first, so the body is read only then.
 */
export const requestThreePidToken = async (
  ctx: AccountsContext, purpose: ThreePidPurpose, medium: ThreePidMedium, readBody: () => Promise<JsonObject>,
): Promise<{ sid: string; submit_url: string }> => {
  const threePids = ctx.threePids;
  // Registration mails are for registering: while it is closed, none is sent.
  const usable = purpose !== 'registration' || ctx.registration === 'open';
  if (medium === 'email' && threePids?.email !== undefined && usable) return requestEmailToken(ctx, threePids, threePids.email, purpose, await readBody());
  if (medium === 'msisdn') checkMsisdnRequest(await readBody());
  const refusal = REFUSALS[purpose][medium];
  throw new MatrixError(refusal.errcode, refusal.status, refusal.message);
};

/**
 * The token's submission (the mailed link, or `submit_url` with the identity service's
 * `submitToken` parameters): the session is validated when the token is the one last mailed for
 * it, unexpired, and the client secret is the session's. Synapse's error for anything else. The
 * session's `next_link`, if any, is where the link then sends the user.
 */
export const submitThreePidToken = async (
  ctx: AccountsContext, sid: unknown, clientSecret: unknown, token: unknown,
): Promise<{ success: true; nextLink?: string }> => {
  const store = ctx.threePids?.store;
  const session = store === undefined || typeof sid !== 'string' || sid.length > 255 ? undefined : await store.getValidationSession(sid);
  const valid = session !== undefined && typeof token === 'string' && token.length <= 255 && typeof clientSecret === 'string'
    && session.clientSecret === clientSecret && session.tokenHash === hashAccessToken(token) && session.tokenExpiresTs > ctx.clock.now();
  if (!valid || store === undefined) throw new MatrixError('M_FORBIDDEN', 400, 'Validation token not found or has expired');
  await store.markValidated(session.sessionId, ctx.clock.now());
  return { success: true, ...(session.nextLink === undefined ? {} : { nextLink: session.nextLink }) };
};

/** `GET /account/3pid`. */
export const listThreePids = async (ctx: AccountsContext, requester: Requester): Promise<{ threepids: JsonObject[] }> => {
  const threePids = ctx.threePids === undefined ? [] : await ctx.threePids.store.listThreePids(requester.userId);
  return {
    threepids: threePids.map((threePid) => ({
      medium: threePid.medium, address: threePid.address, validated_at: threePid.validatedTs, added_at: threePid.addedTs,
    })),
  };
};

/**
 * `POST /account/3pid` (deprecated): its credentials are a session at an identity server, which
 * this server never asks to vouch for an address, so they cannot be verified (403 as the spec lists).
 */
export const addThreePidDeprecated = (body: JsonObject): never => {
  if (body.three_pid_creds === undefined && body.threePidCreds === undefined) throw missingParam('three_pid_creds');
  throw noValidatedSession(403);
};

/**
 * `POST /account/3pid/add`: user-interactive auth first (as Synapse), then the validated session
 * named by `sid` and `client_secret` adds its address to the account.
 */
export const addThreePid = async (ctx: AccountsContext, requester: Requester, body: JsonObject, request: GuardedRequest): Promise<void> => {
  requireParams(body, ['client_secret', 'sid']);
  const session = await userInteractiveAuth(ctx, { request, flows: PASSWORD_FLOWS, userId: requester.userId, bindParams: true });
  const store = ctx.threePids?.store;
  const threePid = store === undefined ? undefined : await validatedThreePid(store, body.sid, body.client_secret, ctx.clock.now());
  if (store === undefined || threePid === undefined) throw noValidatedSession(400);
  const owner = await store.ownerOf(threePid.medium, threePid.address);
  if (owner !== undefined && owner !== requester.userId) throw new MatrixError('M_THREEPID_IN_USE', 400, 'This third-party identifier is already in use');
  if (owner === undefined) {
    const added = await store.addThreePid({ userId: requester.userId, ...threePid, addedTs: ctx.clock.now() });
    if (!added) throw new MatrixError('M_THREEPID_IN_USE', 400, 'This third-party identifier is already in use');
  }
  await finishUserInteractiveAuth(ctx, session);
};

/** The identity servers this server talks to, or M_SERVER_NOT_TRUSTED for any other. */
const trustedIdentityServer = (ctx: AccountsContext, idServer: unknown) => {
  const threePids = ctx.threePids;
  if (typeof idServer !== 'string') throw invalidParam('id_server', 'a string');
  if (threePids?.identityServers === undefined || !threePids.trustedIdServers.includes(idServer)) {
    throw new MatrixError('M_SERVER_NOT_TRUSTED', 400, 'Untrusted identity server');
  }
  return { store: threePids.store, identityServers: threePids.identityServers };
};

/** An identity server's refusal passed on with its own code; an unreachable one is a bad gateway. */
const identityServerFailure = (error: unknown): MatrixError => {
  if (error instanceof IdentityServerError && error.status !== undefined && error.status >= 400 && error.status < 500) {
    return new MatrixError(error.errcode ?? 'M_UNKNOWN', error.status, `The identity server refused: ${error.message}`);
  }
  return new MatrixError('M_UNKNOWN', 502, 'Failed to contact the identity server');
};

/**
 * `POST /account/3pid/bind`: the identity server binds the session it validated to the requester
 * (identity_service_api `POST /_matrix/identity/v2/3pid/bind`, with the user's `id_access_token`);
 * the binding is remembered so that deleting the address later unbinds it there.
 */
export const bindThreePid = async (ctx: AccountsContext, requester: Requester, body: JsonObject): Promise<void> => {
  requireParams(body, ['id_server', 'sid', 'id_access_token', 'client_secret']);
  const { store, identityServers } = trustedIdentityServer(ctx, body.id_server);
  const idServer = body.id_server as string;
  checkClientSecret(body.client_secret);
  if (typeof body.sid !== 'string' || typeof body.id_access_token !== 'string') throw invalidParam('sid', 'a string');
  let answer: JsonObject;
  try {
    answer = await identityServers.request(idServer, 'POST', '/_matrix/identity/v2/3pid/bind', {
      body: { sid: body.sid, client_secret: body.client_secret as string, mxid: requester.userId },
      accessToken: body.id_access_token,
    });
  } catch (error) {
    throw identityServerFailure(error);
  }
  const medium = answer.medium;
  const address = answer.address;
  if ((medium !== 'email' && medium !== 'msisdn') || typeof address !== 'string' || answer.mxid !== requester.userId) {
    throw new MatrixError('M_UNKNOWN', 502, 'The identity server answered an unexpected binding');
  }
  await store.addBinding({ userId: requester.userId, medium, address, idServer });
};

const MEDIA: readonly string[] = ['email', 'msisdn'];

/**
 * Unbinds the address at the identity servers it was bound at through us (or the one named):
 * `POST /_matrix/identity/v2/3pid/unbind` signed with this server's key. "success" when every
 * server unbound it, "no-support" when there was none or one could not (as Synapse counts a 400,
 * 404 or 501 answer).
 */
const unbindEverywhere = async (
  ctx: AccountsContext, userId: string, medium: ThreePidMedium, address: string, idServer: string | undefined,
): Promise<'success' | 'no-support'> => {
  const threePids = ctx.threePids;
  if (threePids === undefined) return 'no-support';
  const bound = await threePids.store.bindings(userId, medium, address);
  const servers = idServer === undefined ? bound.map((binding) => binding.idServer) : [idServer];
  if (servers.length === 0 || threePids.identityServers === undefined) return 'no-support';
  let allUnbound = true;
  for (const server of servers) {
    if (!threePids.trustedIdServers.includes(server) && !bound.some((binding) => binding.idServer === server)) {
      allUnbound = false;
      continue;
    }
    try {
      await threePids.identityServers.request(server, 'POST', '/_matrix/identity/v2/3pid/unbind', {
        body: { mxid: userId, threepid: { medium, address } }, signed: true,
      });
    } catch (error) {
      if (!(error instanceof IdentityServerError && [400, 404, 501].includes(error.status ?? 0))) throw identityServerFailure(error);
      allUnbound = false;
    }
    await threePids.store.deleteBinding({ userId, medium, address, idServer: server });
  }
  return allUnbound ? 'success' : 'no-support';
};

/**
 * `POST /account/3pid/delete` (the address leaves the account, and is unbound) and
 * `/account/3pid/unbind` (unbound only).
 */
export const removeThreePid = async (
  ctx: AccountsContext, requester: Requester, action: 'delete' | 'unbind', body: JsonObject,
): Promise<{ id_server_unbind_result: 'success' | 'no-support' }> => {
  requireParams(body, ['medium', 'address']);
  const { medium, address, id_server: idServer } = body;
  if (typeof medium !== 'string' || !MEDIA.includes(medium)) throw invalidParam('medium', '"email" or "msisdn"');
  if (typeof address !== 'string' || address.length > MAX_EMAIL_LENGTH) throw invalidParam('address', `a string of at most ${MAX_EMAIL_LENGTH} characters`);
  if (idServer !== undefined && typeof idServer !== 'string') throw invalidParam('id_server', 'a string');
  const canonical = medium === 'email' ? canonicaliseEmail(address) : address;
  const result = await unbindEverywhere(ctx, requester.userId, medium as ThreePidMedium, canonical, idServer);
  if (action === 'delete') await ctx.threePids?.store.deleteThreePid(requester.userId, medium as ThreePidMedium, canonical);
  return { id_server_unbind_result: result };
};

/**
 * Deactivation (account_deactivation.yaml): every address the user bound through us is unbound
 * (at `idServer` too, when the request names one), then the account's 3PIDs go. "success" also
 * when there was nothing to unbind, as the spec asks.
 */
export const forgetThreePids = async (ctx: AccountsContext, userId: string, idServer: string | undefined): Promise<'success' | 'no-support'> => {
  const store = ctx.threePids?.store;
  if (store === undefined) return 'success';
  const addresses = new Map<string, { medium: ThreePidMedium; address: string }>();
  for (const { medium, address } of [...await store.bindingsOf(userId), ...await store.listThreePids(userId)]) {
    addresses.set(`${medium}\u0000${address}`, { medium, address });
  }
  let result: 'success' | 'no-support' = 'success';
  for (const { medium, address } of addresses.values()) {
    const bound = (await store.bindings(userId, medium, address)).length > 0;
    if (bound || idServer !== undefined) {
      if ((await unbindEverywhere(ctx, userId, medium, address, idServer)) === 'no-support') result = 'no-support';
    }
    await store.deleteThreePid(userId, medium, address);
  }
  return result;
};

/** The account a 3PID proven by a finished UIA session belongs to (password resets). */
export const ownerOfProvenThreePid = async (ctx: AccountsContext, uiaSessionId: string): Promise<string | undefined> => {
  const store = ctx.threePids?.store;
  const threePid = store === undefined ? undefined : await store.uiaThreePid(uiaSessionId);
  return threePid === undefined || store === undefined ? undefined : store.ownerOf(threePid.medium, threePid.address);
};
