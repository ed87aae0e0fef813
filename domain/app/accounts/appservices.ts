/**
 * Application services on the client-server API (application-service-api.md § Client-Server API
 * Extensions): the as_token authenticates as the bridge's sender or, with `user_id`, as a user of
 * its namespace (§ Identity assertion), with `device_id` as one of that user's devices (MSC3202,
 * stable since v1.17); `m.login.application_service` registers and logs in the namespace's users
 * (§ Server admin style permissions); exclusive namespaces are closed to everyone else.
 */
import {
  exclusiveUserOwner, isInterestedInUser, registrationByToken, type AppserviceRegistration,
} from '../../appservices/index.ts';
import { MatrixError } from '../../errors.ts';
import { BoundedMap } from '../../boundedMap.ts';
import { isUserId } from '../../ids/index.ts';
import { utf8Length } from '../../ids/limits.ts';
import { LIMITS } from '../../limits.ts';
import type { JsonObject } from '../../json.ts';
import type { AccountsContext, Requester } from './context.ts';
import { localUserIdOf } from './identifier.ts';
import { missingParam, optionalBoolean, optionalObject, optionalString } from './params.ts';
import { checkDeviceId, issueSession, type IssuedSession } from './sessions.ts';

/** The login and registration type of application services. */
export const APPSERVICE_LOGIN_TYPE = 'm.login.application_service';

/** The user and device an application service asserts (the `user_id` and `device_id` query parameters). */
export interface IdentityAssertion {
  readonly userId?: string;
  readonly deviceId?: string;
}

export const exclusiveError = (message: string): MatrixError => new MatrixError('M_EXCLUSIVE', 400, message);

/** Synapse's answer to a user (or generated name) in another bridge's exclusive namespace. */
export const userReservedError = (): MatrixError => exclusiveError('This user ID is reserved by an application service.');

/** A token presented where an as_token must be, resolved (401 as any access token, per the spec). */
export const appserviceOfToken = (ctx: AccountsContext, accessToken: string | undefined): AppserviceRegistration => {
  if (accessToken === undefined) throw new MatrixError('M_MISSING_TOKEN', 401, 'Missing access token');
  const registration = registrationByToken(ctx.appservices ?? [], accessToken);
  if (registration === undefined) throw new MatrixError('M_UNKNOWN_TOKEN', 401, 'Unrecognised appservice access token', { soft_logout: false });
  return registration;
};

/** Registrations whose exclusive namespace claims the user, other than `allowed`. */
const reservedByAnother = (ctx: AccountsContext, userId: string, allowed?: AppserviceRegistration): boolean => {
  const others = (ctx.appservices ?? []).filter((registration) => registration !== allowed);
  return exclusiveUserOwner(others, userId) !== undefined;
};

/** Ordinary registration of a user id in a bridge's exclusive namespace: 400 M_EXCLUSIVE. */
export const ensureNotReserved = (ctx: AccountsContext, userId: string): void => {
  if (reservedByAnother(ctx, userId)) throw userReservedError();
};

/** An asserted id as error messages repeat it: the client chose it, so it is cut short. */
const shown = (id: string): string => (id.length > 255 ? `${id.slice(0, 255)}…` : id);

const mayBeDeviceId = (deviceId: string): boolean =>
  deviceId !== '' && !deviceId.includes('\u0000') && utf8Length(deviceId) <= LIMITS.deviceIdBytes;

/** Users known to be registered: accounts are never deleted, so a yes stays true. */
const REMEMBERED_REGISTERED_USERS = 100_000;

export interface AppserviceAuthenticator {
  /** The requester an as_token's request acts as, or undefined when the token is no as_token. */
  authenticate(accessToken: string, assertion: IdentityAssertion): Promise<Requester | undefined>;
}

export const createAppserviceAuthenticator = (ctx: AccountsContext): AppserviceAuthenticator => {
  const registered = new BoundedMap<string, true>(REMEMBERED_REGISTERED_USERS);
  const isRegistered = async (userId: string): Promise<boolean> => {
    if (registered.get(userId) === true) return true;
    if ((await ctx.store.getUser(userId)) === undefined) return false;
    registered.set(userId, true);
    return true;
  };
  return {
    async authenticate(accessToken, assertion) {
      const registrations = ctx.appservices ?? [];
      if (registrations.length === 0) return undefined;
      const appservice = registrationByToken(registrations, accessToken);
      if (appservice === undefined) return undefined;
      const userId = assertion.userId ?? appservice.sender;
      // As Synapse (validate_appservice_can_control_user_id): the sender, else a user of the
      // namespace this server holds; a user of another server can be neither.
      if (userId !== appservice.sender) {
        const local = isUserId(userId) && userId.endsWith(`:${ctx.serverName}`);
        if (!local || !isInterestedInUser(appservice, userId)) {
          throw new MatrixError('M_FORBIDDEN', 403, `Application service cannot masquerade as this user (${shown(userId)}).`);
        }
        if (!(await isRegistered(userId))) {
          throw new MatrixError('M_FORBIDDEN', 403, `Application service has not registered this user (${userId})`);
        }
      }
      // A device id no device can have (empty, too long, with NUL) is not looked up.
      const deviceId = assertion.deviceId;
      if (deviceId !== undefined && (!mayBeDeviceId(deviceId) || (await ctx.store.getDevice(userId, deviceId)) === undefined)) {
        throw new MatrixError('M_UNKNOWN_DEVICE', 400,
          `Application service trying to use a device that doesn't exist ('${shown(deviceId)}' for ${userId})`);
      }
      return { userId, deviceId: deviceId ?? '', isGuest: false, appservice };
    },
  };
};

/**
 * The bridges' senders exist implicitly (Synapse registers them at start-up): each is made an
 * account, without a password, if it is not one yet.
 */
export const registerAppserviceSenders = async (ctx: AccountsContext): Promise<void> => {
  for (const appservice of ctx.appservices ?? []) {
    await ctx.store.createUser({
      userId: appservice.sender,
      passwordHash: null,
      isGuest: false,
      isAdmin: false,
      createdTs: ctx.clock.now(),
      profile: { displayname: appservice.senderLocalpart },
    });
  }
};

export interface AppserviceRegisterCommand {
  /** The token the request presented, which must be an as_token. */
  readonly accessToken: string | undefined;
  /** The user id the username maps to (register.ts `userIdForUsername`), undefined when none was sent. */
  readonly userId: string | undefined;
  readonly deviceId?: string;
  readonly initialDeviceDisplayName?: string;
  readonly inhibitLogin: boolean;
  readonly refreshToken?: boolean;
}

/**
 * `POST /register` with `type: m.login.application_service`: no user-interactive auth, and open
 * whatever `enable_registration` says (as Synapse); the user must be the bridge's.
 */
export const registerAppserviceUser = async (
  ctx: AccountsContext, command: AppserviceRegisterCommand,
): Promise<{ userId: string; homeServer: string } | IssuedSession> => {
  const appservice = appserviceOfToken(ctx, command.accessToken);
  const userId = command.userId;
  if (userId === undefined) throw missingParam('username');
  if (!isInterestedInUser(appservice, userId)) throw exclusiveError('Invalid user localpart for this application service.');
  if (reservedByAnother(ctx, userId, appservice)) throw userReservedError();
  checkDeviceId(command.deviceId);
  const created = await ctx.store.createUser({
    userId, passwordHash: null, isGuest: false, isAdmin: false, createdTs: ctx.clock.now(),
    profile: { displayname: userId.slice(1, userId.indexOf(':')) },
  });
  if (!created) throw new MatrixError('M_USER_IN_USE', 400, 'User ID already taken.');
  if (command.inhibitLogin) return { userId, homeServer: ctx.serverName };
  return issueSession(ctx, userId, command.deviceId, command.initialDeviceDisplayName, command.refreshToken ?? false);
};

/**
 * `POST /login` with `type: m.login.application_service` (since v1.2): the identifier names a
 * user of the bridge (`m.id.user` only, as MSC2778 and Synapse); anyone else is 403 M_EXCLUSIVE.
 */
export const appserviceLogin = async (ctx: AccountsContext, body: JsonObject, accessToken: string | undefined): Promise<IssuedSession> => {
  const appservice = appserviceOfToken(ctx, accessToken);
  const identifier = optionalObject(body, 'identifier');
  if (identifier === undefined) throw missingParam('identifier');
  if (optionalString(identifier, 'type') !== 'm.id.user') throw new MatrixError('M_UNKNOWN', 400, 'Invalid identifier type for application service login');
  const user = optionalString(identifier, 'user');
  if (user === undefined) throw missingParam('identifier.user');
  const userId = localUserIdOf(user, ctx.serverName);
  if (userId === undefined || !isInterestedInUser(appservice, userId)) {
    throw new MatrixError('M_EXCLUSIVE', 403, 'Invalid access_token');
  }
  if ((await ctx.store.getUser(userId)) === undefined) {
    throw new MatrixError('M_FORBIDDEN', 403, `Application service has not registered this user (${userId})`);
  }
  const deviceId = optionalString(body, 'device_id');
  checkDeviceId(deviceId);
  return issueSession(ctx, userId, deviceId, optionalString(body, 'initial_device_display_name'), optionalBoolean(body, 'refresh_token') ?? false);
};
