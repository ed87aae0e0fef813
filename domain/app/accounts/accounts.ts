/**
 * The account use-cases bound to their dependencies: what the gateways call. Built once in the
 * composition root from an AccountsContext.
 */
import type { JsonObject } from '../../json.ts';
import type { ProfileFields } from '../../ports/accounts.ts';
import type { AccountsContext, AuthDict, Requester } from './context.ts';
import { deactivateAccount, type DeactivateCommand } from './deactivate.ts';
import { deleteDevices, getDevice, listDevices, renameDevice } from './devices.ts';
import { createAuthenticator, login, loginFlows, logout, logoutAll, whoami, type AuthenticateOptions } from './login.ts';
import { createSuspensionCache, moderationStatus, setModeration, type ModerationAction } from './moderation.ts';
import { openIdUserInfo, requestOpenIdToken, type OpenIdCredentials } from './openId.ts';
import { refresh, type RefreshResult } from './refresh.ts';
import { changePassword, type ChangePasswordCommand } from './password.ts';
import { deleteProfileField, getProfile, getProfileField, setProfileField } from './profile.ts';
import { checkUsernameAvailable, register, registrationTokenValidity, type RegisterCommand, type RegisterResult } from './register.ts';
import type { IssuedSession } from './sessions.ts';
import { newRegistrationNonce, registerWithSharedSecret, type SharedSecretRegistration } from './sharedSecret.ts';
import { finishUserInteractiveAuth, PASSWORD_FLOWS, userInteractiveAuth } from './uia.ts';
import { whois } from './whois.ts';
import {
  addThreePid, addThreePidDeprecated, bindThreePid, listThreePids, removeThreePid, requestThreePidToken,
  type ThreePidMedium, type ThreePidPurpose,
} from './threePids.ts';

export interface Accounts {
  readonly serverName: string;
  authenticate(accessToken: string, ip?: string, options?: AuthenticateOptions): Promise<Requester>;
  loginFlows(): { flows: { type: string }[] };
  login(body: JsonObject): Promise<IssuedSession>;
  logout(requester: Requester): Promise<void>;
  refresh(refreshToken: string): Promise<RefreshResult>;
  logoutAll(requester: Requester): Promise<void>;
  whoami(requester: Requester): { user_id: string; device_id: string; is_guest: boolean };
  register(command: RegisterCommand): Promise<RegisterResult>;
  checkUsernameAvailable(username: string): Promise<true>;
  /** `token` undefined when the query has none. */
  registrationTokenValidity(token: string | undefined): { valid: boolean };
  changePassword(requester: Requester, command: ChangePasswordCommand): Promise<void>;
  listDevices(requester: Requester): Promise<JsonObject[]>;
  getDevice(requester: Requester, deviceId: string): Promise<JsonObject>;
  renameDevice(requester: Requester, deviceId: string, displayName: string | undefined): Promise<void>;
  deleteDevices(requester: Requester, deviceIds: readonly string[], auth: AuthDict): Promise<void>;
  /** `requester` is undefined for a request without an access token (UIA then names the user). */
  deactivate(requester: Requester | undefined, command: DeactivateCommand): Promise<{ id_server_unbind_result: 'success' }>;
  requestOpenIdToken(requester: Requester, userId: string): Promise<OpenIdCredentials>;
  /** What the federation `/openid/userinfo` answers for a token. */
  openIdUserInfo(token: string): Promise<{ sub: string }>;
  whois(requester: Requester, userId: string): Promise<JsonObject>;
  /** `GET /admin/{lock,suspend}/{userId}` (since v1.18). */
  moderationStatus(requester: Requester, action: ModerationAction, userId: string): Promise<JsonObject>;
  /** `PUT /admin/{lock,suspend}/{userId}` (since v1.18). */
  setModeration(requester: Requester, action: ModerationAction, userId: string, body: JsonObject): Promise<JsonObject>;
  /** Whether a local account is suspended (for checks outside this layer, e.g. room writes); cached for seconds. */
  isSuspended(userId: string): Promise<boolean>;
  /** Whether the user is a server administrator (e.g. for `m.account_moderation`). */
  isAdmin(userId: string): Promise<boolean>;
  /** Third-party ids: none can be added here (no email, SMS or identity server). */
  readonly threePids: {
    list(): { threepids: JsonObject[] };
    /** Every `…/{email,msisdn}/requestToken`; `readBody` is called only when the body matters. */
    requestToken(purpose: ThreePidPurpose, medium: ThreePidMedium, readBody: () => Promise<JsonObject>): Promise<never>;
    addDeprecated(body: JsonObject): never;
    add(requester: Requester, body: JsonObject, auth: AuthDict): Promise<never>;
    bind(body: JsonObject): never;
    remove(body: JsonObject): { id_server_unbind_result: 'no-support' };
  };
  getProfile(userId: string): Promise<ProfileFields>;
  getProfileField(userId: string, key: string): Promise<JsonObject>;
  setProfileField(requester: Requester, userId: string, key: string, body: JsonObject): Promise<void>;
  deleteProfileField(requester: Requester, userId: string, key: string): Promise<void>;
  newRegistrationNonce(): Promise<string>;
  registerWithSharedSecret(request: SharedSecretRegistration): Promise<IssuedSession>;
  /**
   * User-interactive auth with the password flow, for an operation of another layer (e.g. a
   * cross-signing key upload): resolves with the function to call once the operation succeeded,
   * or throws the 401 UiaChallenge.
   */
  passwordAuth(requester: Requester, operation: string, auth: AuthDict): Promise<() => Promise<void>>;
}

export const createAccounts = (ctx: AccountsContext): Accounts => {
  const authenticator = createAuthenticator(ctx);
  const suspensions = createSuspensionCache(ctx);
  return {
    serverName: ctx.serverName,
    authenticate: (token, ip, options) => authenticator.authenticate(token, ip, options),
    loginFlows,
    login: (body) => login(ctx, body),
    logout: (requester) => logout(ctx, requester),
    refresh: (refreshToken) => refresh(ctx, refreshToken),
    logoutAll: (requester) => logoutAll(ctx, requester),
    whoami,
    register: (command) => register(ctx, command),
    checkUsernameAvailable: (username) => checkUsernameAvailable(ctx, username),
    registrationTokenValidity: (token) => registrationTokenValidity(ctx, token),
    changePassword: (requester, command) => changePassword(ctx, requester, command),
    listDevices: (requester) => listDevices(ctx, requester),
    getDevice: (requester, deviceId) => getDevice(ctx, requester, deviceId),
    renameDevice: (requester, deviceId, name) => renameDevice(ctx, requester, deviceId, name),
    deleteDevices: (requester, deviceIds, auth) => deleteDevices(ctx, requester, deviceIds, auth),
    deactivate: (requester, command) => deactivateAccount(ctx, requester, command),
    requestOpenIdToken: (requester, userId) => requestOpenIdToken(ctx, requester, userId),
    openIdUserInfo: (token) => openIdUserInfo(ctx, token),
    whois: (requester, userId) => whois(ctx, requester, userId),
    moderationStatus: (requester, action, userId) => moderationStatus(ctx, requester, action, userId),
    setModeration: async (requester, action, userId, body) => {
      try {
        return await setModeration(ctx, requester, action, userId, body);
      } finally {
        suspensions.forget(userId);
      }
    },
    isSuspended: (userId) => suspensions.isSuspended(userId),
    isAdmin: async (userId) => (await ctx.store.getUser(userId))?.isAdmin === true,
    threePids: {
      list: listThreePids,
      requestToken: requestThreePidToken,
      addDeprecated: addThreePidDeprecated,
      add: (requester, body, auth) => addThreePid(ctx, requester, body, auth),
      bind: bindThreePid,
      remove: removeThreePid,
    },
    getProfile: (userId) => getProfile(ctx, userId),
    getProfileField: (userId, key) => getProfileField(ctx, userId, key),
    setProfileField: (requester, userId, key, body) => setProfileField(ctx, requester, userId, key, body),
    deleteProfileField: (requester, userId, key) => deleteProfileField(ctx, requester, userId, key),
    newRegistrationNonce: () => newRegistrationNonce(ctx),
    registerWithSharedSecret: (request) => registerWithSharedSecret(ctx, request),
    passwordAuth: async (requester, operation, auth) => {
      const session = await userInteractiveAuth(ctx, { operation, flows: PASSWORD_FLOWS, auth, userId: requester.userId });
      return () => finishUserInteractiveAuth(ctx, session);
    },
  };
};
