/**
 * Account registration (client-server-api § Account registration, registration.yaml):
 * `POST /register` behind user-interactive auth and `GET /register/available`.
 */
import { MatrixError } from '../../errors.ts';
import type { ServerName } from '../../ids/serverName.ts';
import { makeUserId } from '../../ids/userId.ts';
import { isJsonObject, type JsonObject } from '../../json.ts';
import type { AccountsContext, GuardedRequest } from './context.ts';
import { guestToUpgrade, isGuestLocalpart, registerGuest, upgradeGuest } from './guests.ts';
import { isPasswordTooLong, MAX_PASSWORD_LENGTH } from './identifier.ts';
import { invalidParam, missingParam } from './params.ts';
import { newLocalpart } from './secrets.ts';
import { checkDeviceId, issueSession } from './sessions.ts';
import { isUiaChallenge, namedUiaSession, registrationFlows, setUiaSessionData, userInteractiveAuth } from './uia.ts';
import type { UiaSession } from '../../ports/accounts.ts';
import { APPSERVICE_LOGIN_TYPE, ensureNotReserved, registerAppserviceUser } from './appservices.ts';

export interface RegisterCommand {
  readonly kind: 'user' | 'guest';
  readonly username?: string;
  readonly password?: string;
  readonly deviceId?: string;
  readonly initialDeviceDisplayName?: string;
  readonly inhibitLogin: boolean;
  /** The request as the client made it, its `auth` included (user-interactive auth). */
  readonly request: GuardedRequest;
  /** The client supports refresh tokens (since v1.3). */
  readonly refreshToken?: boolean;
  /** registration.yaml `guest_access_token`: the guest account this registration upgrades (kind `user`). */
  readonly guestAccessToken?: string;
  /** The body's `type`: `m.login.application_service` registers a user of the bridge whose as_token `accessToken` is. */
  readonly type?: string;
  /** The access token the request presented, if any. */
  readonly accessToken?: string;
}

export interface RegisterResult {
  readonly userId: string;
  readonly homeServer: string;
  /** Absent when `inhibit_login` was set. */
  readonly accessToken?: string;
  readonly deviceId?: string;
  readonly refreshToken?: string;
  readonly expiresInMs?: number;
}

/** A new password longer than Synapse allows (`MAX_PASSWORD_LENGTH` code points) is refused. */
export const checkPasswordLength = (key: string, password: string | undefined): void => {
  if (password !== undefined && isPasswordTooLong(password)) {
    throw invalidParam(key, `at most ${MAX_PASSWORD_LENGTH} characters`);
  }
};

/**
 * The user id a requested username maps to. Usernames are lower-cased (the spec lets the server
 * map a username onto a user id "in a logical manner"); anything else outside the grammar, or a
 * user id over 255 bytes, is M_INVALID_USERNAME.
 */
export const userIdForUsername = (username: string, serverName: string): string => {
  const localpart = username.toLowerCase();
  if (isGuestLocalpart(localpart)) throw new MatrixError('M_INVALID_USERNAME', 400, 'Numeric user IDs are reserved for guest users.');
  const parsed = makeUserId(localpart, serverName as ServerName);
  if (!parsed.ok) {
    throw new MatrixError(
      'M_INVALID_USERNAME',
      400,
      'User ID may only contain a-z, 0-9, and the characters . _ = - / + and must be at most 255 bytes',
    );
  }
  return parsed.value;
};

const ensureAvailable = async (ctx: AccountsContext, userId: string): Promise<void> => {
  if ((await ctx.store.getUser(userId)) !== undefined) throw new MatrixError('M_USER_IN_USE', 400, 'User ID already taken.');
};

const ensureRegistrationOpen = (ctx: AccountsContext): void => {
  if (ctx.registration !== 'open') throw new MatrixError('M_FORBIDDEN', 403, 'Registration is disabled');
};

/** `GET /register/available`: true, or the error that registering the name would give. */
export const checkUsernameAvailable = async (ctx: AccountsContext, username: string): Promise<true> => {
  ensureRegistrationOpen(ctx);
  const userId = userIdForUsername(username, ctx.serverName);
  ensureNotReserved(ctx, userId);
  await ensureAvailable(ctx, userId);
  return true;
};

/**
 * `GET /v1/register/m.login.registration_token/validity` (registration_tokens.yaml, since v1.2): 403
 * while registration is disabled ("all tokens are considered invalid"), then the `token` parameter.
 * This server issues no registration tokens (its registration offers no `m.login.registration_token`
 * stage), so no token is "a recognised token": always false.
 */
export const registrationTokenValidity = (ctx: AccountsContext, token: string | undefined): { valid: boolean } => {
  ensureRegistrationOpen(ctx);
  if (token === undefined) throw new MatrixError('M_MISSING_PARAM', 400, "Missing string query parameter 'token'");
  return { valid: false };
};

/** Creates the account (profile displayname = localpart, as Synapse does). False if the id is taken. */
export const createAccount = async (
  ctx: AccountsContext,
  userId: string,
  passwordHash: string,
  options: { isAdmin: boolean; displayName?: string },
): Promise<boolean> =>
  ctx.store.createUser({
    userId,
    passwordHash,
    isGuest: false,
    isAdmin: options.isAdmin,
    createdTs: ctx.clock.now(),
    profile: { displayname: options.displayName ?? userId.slice(1, userId.indexOf(':')) },
  });

const GENERATED_LOCALPART_ATTEMPTS = 5;

/**
 * The account a UIA session already registered: the session stays until it expires, and a retry
 * (a lost answer, a second request in flight) answers with that account, as Synapse does.
 */
const REGISTERED_USER_ID = 'registered_user_id';

const registeredUserOf = (session: UiaSession | undefined): string | undefined => {
  const userId = session?.data[REGISTERED_USER_ID];
  return typeof userId === 'string' ? userId : undefined;
};

/**
 * A registration whose stages are not all done keeps its parameters with its session (the password
 * apart, hashed), as Synapse does: a later request may leave the password out, and a request that
 * sends nothing but `auth` (Element Android's stages, a client resuming once an email link was
 * followed) registers with the parameters kept.
 */
const PASSWORD_HASH = 'password_hash';
const PARAMS = 'params';

const sendsParams = (request: GuardedRequest): boolean => Object.keys(request.body).some((key) => key !== 'auth');

const paramsToKeep = (command: RegisterCommand): JsonObject => ({
  ...(command.username === undefined ? {} : { username: command.username }),
  ...(command.deviceId === undefined ? {} : { device_id: command.deviceId }),
  ...(command.initialDeviceDisplayName === undefined ? {} : { initial_device_display_name: command.initialDeviceDisplayName }),
  inhibit_login: command.inhibitLogin,
  refresh_token: command.refreshToken ?? false,
});

const withKeptParams = (command: RegisterCommand, session: UiaSession | undefined): RegisterCommand => {
  const kept = session?.data[PARAMS];
  if (sendsParams(command.request) || !isJsonObject(kept)) return command;
  const { username, device_id: deviceId, initial_device_display_name: displayName } = kept;
  return {
    ...command,
    ...(typeof username === 'string' ? { username } : {}),
    ...(typeof deviceId === 'string' ? { deviceId } : {}),
    ...(typeof displayName === 'string' ? { initialDeviceDisplayName: displayName } : {}),
    inhibitLogin: kept.inhibit_login === true,
    refreshToken: kept.refresh_token === true,
  };
};

const rememberRequest = async (ctx: AccountsContext, sessionId: unknown, command: RegisterCommand): Promise<void> => {
  const session = typeof sessionId === 'string' ? await ctx.store.getUiaSession(sessionId) : undefined;
  if (session === undefined) return;
  if (sendsParams(command.request)) await setUiaSessionData(ctx, session, PARAMS, paramsToKeep(command));
  if (command.password !== undefined && typeof session.data[PASSWORD_HASH] !== 'string') {
    await setUiaSessionData(ctx, session, PASSWORD_HASH, await ctx.hasher.hash(command.password));
  }
};

const threePidInUse = (): MatrixError => new MatrixError('M_THREEPID_IN_USE', 400, 'Email is already in use');

export const register = async (ctx: AccountsContext, given: RegisterCommand): Promise<RegisterResult> => {
  if (given.kind === 'guest') return registerGuest(ctx, given.initialDeviceDisplayName);
  if (given.type === APPSERVICE_LOGIN_TYPE) {
    return registerAppserviceUser(ctx, {
      accessToken: given.accessToken,
      userId: given.username === undefined ? undefined : userIdForUsername(given.username, ctx.serverName),
      ...(given.deviceId === undefined ? {} : { deviceId: given.deviceId }),
      ...(given.initialDeviceDisplayName === undefined ? {} : { initialDeviceDisplayName: given.initialDeviceDisplayName }),
      inhibitLogin: given.inhibitLogin,
      refreshToken: given.refreshToken ?? false,
    });
  }
  ensureRegistrationOpen(ctx);
  const named = await namedUiaSession(ctx, given.request);
  const command = withKeptParams(given, named);
  const guest = command.guestAccessToken === undefined ? undefined : await guestToUpgrade(ctx, command.guestAccessToken, command.username);
  // The spec wants M_USER_IN_USE / M_INVALID_USERNAME before any UIA stage.
  const requested = guest !== undefined || command.username === undefined ? undefined : userIdForUsername(command.username, ctx.serverName);
  if (requested !== undefined && requested !== registeredUserOf(named)) {
    // Application service namespaces declared exclusive are theirs alone (§ Server admin style permissions).
    ensureNotReserved(ctx, requested);
    await ensureAvailable(ctx, requested);
  }
  checkPasswordLength('password', command.password);
  checkDeviceId(command.deviceId);

  let session: UiaSession;
  try {
    session = await userInteractiveAuth(ctx, { request: command.request, flows: registrationFlows(ctx), bindParams: false });
  } catch (error) {
    if (isUiaChallenge(error)) await rememberRequest(ctx, error.body.session, command);
    throw error;
  }
  const userId = registeredUserOf(session) ?? await createRegisteredAccount(ctx, command, session, guest, requested);
  if (command.inhibitLogin) return { userId, homeServer: ctx.serverName };
  return issueSession(ctx, userId, command.deviceId, command.initialDeviceDisplayName, command.refreshToken ?? false);
};

/** The requested user id, or a generated one when none was asked for. */
const createNewAccount = async (ctx: AccountsContext, requested: string | undefined, passwordHash: string): Promise<string> => {
  if (requested !== undefined) {
    // It may have been taken while the client was completing stages.
    if (!(await createAccount(ctx, requested, passwordHash, { isAdmin: false }))) {
      throw new MatrixError('M_USER_IN_USE', 400, 'User ID already taken.');
    }
    return requested;
  }
  for (let attempt = 0; attempt < GENERATED_LOCALPART_ATTEMPTS; attempt++) {
    const candidate = `@${newLocalpart(ctx.random)}:${ctx.serverName}`;
    if (await createAccount(ctx, candidate, passwordHash, { isAdmin: false })) return candidate;
  }
  throw new MatrixError('M_UNKNOWN', 500, 'Could not allocate a user ID');
};

/** Registration's effect, once per UIA session: the account (or upgraded guest), remembered by the session. */
const createRegisteredAccount = async (
  ctx: AccountsContext,
  command: RegisterCommand,
  session: UiaSession,
  guest: string | undefined,
  requested: string | undefined,
): Promise<string> => {
  const passwordHash = async (): Promise<string> => {
    if (command.password !== undefined) return ctx.hasher.hash(command.password);
    const stored = session.data[PASSWORD_HASH];
    if (typeof stored === 'string') return stored;
    throw missingParam('password');
  };
  // The address the email stage proved becomes the account's; it may not be another's already.
  const threePids = ctx.threePids;
  const proven = threePids === undefined ? undefined : await threePids.store.uiaThreePid(session.sessionId);
  if (threePids !== undefined && proven !== undefined && (await threePids.store.ownerOf(proven.medium, proven.address)) !== undefined) {
    throw threePidInUse();
  }

  let userId: string;
  if (guest !== undefined) {
    // The guest keeps its user id, profile and rooms.
    if (command.password === undefined) throw missingParam('password');
    await upgradeGuest(ctx, guest, command.password);
    userId = guest;
  } else {
    userId = await createNewAccount(ctx, requested, await passwordHash());
  }
  if (threePids !== undefined && proven !== undefined) {
    await threePids.store.addThreePid({ userId, ...proven, addedTs: ctx.clock.now() });
  }
  await setUiaSessionData(ctx, session, REGISTERED_USER_ID, userId);
  return userId;
};
