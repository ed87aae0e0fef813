/**
 * Account registration (client-server-api § Account registration, registration.yaml):
 * `POST /register` behind user-interactive auth and `GET /register/available`.
 */
import { MatrixError } from '../../errors.ts';
import type { ServerName } from '../../ids/serverName.ts';
import { makeUserId } from '../../ids/userId.ts';
import type { AccountsContext, AuthDict } from './context.ts';
import { invalidParam, missingParam } from './params.ts';
import { newLocalpart } from './secrets.ts';
import { checkDeviceId, issueSession } from './sessions.ts';
import { finishUserInteractiveAuth, REGISTRATION_FLOWS, userInteractiveAuth } from './uia.ts';

export interface RegisterCommand {
  readonly kind: 'user' | 'guest';
  readonly username?: string;
  readonly password?: string;
  readonly deviceId?: string;
  readonly initialDeviceDisplayName?: string;
  readonly inhibitLogin: boolean;
  readonly auth: AuthDict;
  /** The client supports refresh tokens (since v1.3). */
  readonly refreshToken?: boolean;
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

/** Argon2 cost does not grow with length, but an unbounded body field is still worth refusing. */
export const MAX_PASSWORD_LENGTH = 512;

export const checkPasswordLength = (key: string, password: string | undefined): void => {
  if (password !== undefined && password.length > MAX_PASSWORD_LENGTH) {
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
  await ensureAvailable(ctx, userIdForUsername(username, ctx.serverName));
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
  password: string,
  options: { isAdmin: boolean; displayName?: string },
): Promise<boolean> =>
  ctx.store.createUser({
    userId,
    passwordHash: await ctx.hasher.hash(password),
    isGuest: false,
    isAdmin: options.isAdmin,
    createdTs: ctx.clock.now(),
    profile: { displayname: options.displayName ?? userId.slice(1, userId.indexOf(':')) },
  });

const GENERATED_LOCALPART_ATTEMPTS = 5;

export const register = async (ctx: AccountsContext, command: RegisterCommand): Promise<RegisterResult> => {
  if (command.kind === 'guest') {
    throw new MatrixError('M_GUEST_ACCESS_FORBIDDEN', 403, 'Guest access is not supported on this server');
  }
  ensureRegistrationOpen(ctx);
  // The spec wants M_USER_IN_USE / M_INVALID_USERNAME before any UIA stage.
  const requested = command.username === undefined ? undefined : userIdForUsername(command.username, ctx.serverName);
  if (requested !== undefined) await ensureAvailable(ctx, requested);
  checkPasswordLength('password', command.password);
  checkDeviceId(command.deviceId);

  const session = await userInteractiveAuth(ctx, { operation: 'register', flows: REGISTRATION_FLOWS, auth: command.auth });
  if (command.password === undefined) throw missingParam('password');

  let userId: string | undefined;
  if (requested !== undefined) {
    // It may have been taken while the client was completing stages.
    if (!(await createAccount(ctx, requested, command.password, { isAdmin: false }))) {
      throw new MatrixError('M_USER_IN_USE', 400, 'User ID already taken.');
    }
    userId = requested;
  } else {
    for (let attempt = 0; attempt < GENERATED_LOCALPART_ATTEMPTS && userId === undefined; attempt++) {
      const candidate = `@${newLocalpart(ctx.random)}:${ctx.serverName}`;
      if (await createAccount(ctx, candidate, command.password, { isAdmin: false })) userId = candidate;
    }
    if (userId === undefined) throw new MatrixError('M_UNKNOWN', 500, 'Could not allocate a user ID');
  }
  await finishUserInteractiveAuth(ctx, session);

  if (command.inhibitLogin) return { userId, homeServer: ctx.serverName };
  return issueSession(ctx, userId, command.deviceId, command.initialDeviceDisplayName, command.refreshToken ?? false);
};
