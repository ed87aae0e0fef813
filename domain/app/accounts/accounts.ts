/**
 * The account use-cases bound to their dependencies: what the gateways call. Built once in the
 * composition root from an AccountsContext.
 */
import { registrationByToken, type AppserviceRegistration } from '../../appservices/index.ts';
import type { MatrixError } from '../../errors.ts';
import type { JsonObject } from '../../json.ts';
import type { ClientConnection, ProfileFields } from '../../ports/accounts.ts';
import { registerAppserviceSenders } from './appservices.ts';
import type { AccountsContext, GuardedRequest, Requester } from './context.ts';
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
import { completeFallbackStage, fallbackStageParams, finishUserInteractiveAuth, PASSWORD_FLOWS, userInteractiveAuth } from './uia.ts';
import { whois } from './whois.ts';
import {
  addThreePid, addThreePidDeprecated, bindThreePid, listThreePids, removeThreePid, requestThreePidToken, submitThreePidToken,
  type ThreePidMedium, type ThreePidPurpose,
} from './threePids.ts';

export interface Accounts {
  readonly serverName: string;
  /** `connection`: where the request came from, recorded for `/admin/whois` and `last_seen_*`. */
  authenticate(accessToken: string, connection?: ClientConnection, options?: AuthenticateOptions): Promise<Requester>;
  loginFlows(): { flows: { type: string }[] };
  /** `accessToken`: the one the request presented (an as_token for `m.login.application_service`). */
  login(body: JsonObject, accessToken?: string): Promise<IssuedSession>;
  logout(requester: Requester): Promise<void>;
  refresh(refreshToken: string): Promise<RefreshResult>;
  logoutAll(requester: Requester): Promise<void>;
  whoami(requester: Requester): { user_id: string; device_id?: string; is_guest: boolean };
  /** The application service whose as_token this is (e.g. to spare its requests rate limits). */
  appserviceOfToken(accessToken: string): AppserviceRegistration | undefined;
  /** Makes each application service's sender an account (at start-up, as Synapse). */
  registerAppserviceSenders(): Promise<void>;
  register(command: RegisterCommand): Promise<RegisterResult>;
  checkUsernameAvailable(username: string): Promise<true>;
  /** `token` undefined when the query has none. */
  registrationTokenValidity(token: string | undefined): { valid: boolean };
  /** `requester` is undefined for a password reset by email (no access token). */
  changePassword(requester: Requester | undefined, command: ChangePasswordCommand): Promise<void>;
  listDevices(requester: Requester): Promise<JsonObject[]>;
  getDevice(requester: Requester, deviceId: string): Promise<JsonObject>;
  /** `created`: an application service created the device (since v1.17). */
  renameDevice(requester: Requester, deviceId: string, displayName: string | undefined): Promise<{ created: boolean }>;
  deleteDevices(requester: Requester, deviceIds: readonly string[], request: GuardedRequest): Promise<void>;
  /** `requester` is undefined for a request without an access token (UIA then names the user). */
  deactivate(requester: Requester | undefined, command: DeactivateCommand): Promise<{ id_server_unbind_result: 'success' | 'no-support' }>;
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
  /** Third-party ids: validated by mail when email is configured, bound at trusted identity servers. */
  readonly threePids: {
    list(requester: Requester): Promise<{ threepids: JsonObject[] }>;
    /** Every `…/{email,msisdn}/requestToken`; `readBody` is called only when the body matters. */
    requestToken(purpose: ThreePidPurpose, medium: ThreePidMedium, readBody: () => Promise<JsonObject>): Promise<{ sid: string; submit_url: string }>;
    /** The mailed token's submission. */
    submitToken(sid: unknown, clientSecret: unknown, token: unknown): Promise<{ success: true; nextLink?: string }>;
    addDeprecated(body: JsonObject): never;
    add(requester: Requester, body: JsonObject, request: GuardedRequest): Promise<void>;
    bind(requester: Requester, body: JsonObject): Promise<void>;
    remove(requester: Requester, action: 'delete' | 'unbind', body: JsonObject): Promise<{ id_server_unbind_result: 'success' | 'no-support' }>;
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
   * or throws the 401 UiaChallenge. Application services are not asked.
   */
  passwordAuth(requester: Requester, request: GuardedRequest): Promise<() => Promise<void>>;
  /** The web pages completing a stage for clients that cannot (client-server-api § Fallback). */
  readonly uiaFallback: {
    /** The stage's `params` for its page, or undefined when no page serves that stage here. */
    params(type: string): JsonObject | undefined;
    /** Completes the stage for the session: a failed attempt is returned (to show), a wrong request thrown. */
    complete(sessionId: string, type: string, auth: JsonObject, clientIp: string | undefined): Promise<{ ok: true } | { ok: false; failure: MatrixError }>;
  };
}

export const createAccounts = (ctx: AccountsContext): Accounts => {
  const authenticator = createAuthenticator(ctx);
  const suspensions = createSuspensionCache(ctx);
  return {
    serverName: ctx.serverName,
    authenticate: (token, connection, options) => authenticator.authenticate(token, connection, options),
    loginFlows,
    login: (body, accessToken) => login(ctx, body, accessToken),
    logout: (requester) => logout(ctx, requester),
    refresh: (refreshToken) => refresh(ctx, refreshToken),
    logoutAll: (requester) => logoutAll(ctx, requester),
    whoami,
    appserviceOfToken: (accessToken) => registrationByToken(ctx.appservices ?? [], accessToken),
    registerAppserviceSenders: () => registerAppserviceSenders(ctx),
    register: (command) => register(ctx, command),
    checkUsernameAvailable: (username) => checkUsernameAvailable(ctx, username),
    registrationTokenValidity: (token) => registrationTokenValidity(ctx, token),
    changePassword: (requester, command) => changePassword(ctx, requester, command),
    listDevices: (requester) => listDevices(ctx, requester),
    getDevice: (requester, deviceId) => getDevice(ctx, requester, deviceId),
    renameDevice: (requester, deviceId, name) => renameDevice(ctx, requester, deviceId, name),
    deleteDevices: (requester, deviceIds, request) => deleteDevices(ctx, requester, deviceIds, request),
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
      list: (requester) => listThreePids(ctx, requester),
      requestToken: (purpose, medium, readBody) => requestThreePidToken(ctx, purpose, medium, readBody),
      submitToken: (sid, clientSecret, token) => submitThreePidToken(ctx, sid, clientSecret, token),
      addDeprecated: addThreePidDeprecated,
      add: (requester, body, request) => addThreePid(ctx, requester, body, request),
      bind: (requester, body) => bindThreePid(ctx, requester, body),
      remove: (requester, action, body) => removeThreePid(ctx, requester, action, body),
    },
    getProfile: (userId) => getProfile(ctx, userId),
    getProfileField: (userId, key) => getProfileField(ctx, userId, key),
    setProfileField: (requester, userId, key, body) => setProfileField(ctx, requester, userId, key, body),
    deleteProfileField: (requester, userId, key) => deleteProfileField(ctx, requester, userId, key),
    newRegistrationNonce: () => newRegistrationNonce(ctx),
    registerWithSharedSecret: (request) => registerWithSharedSecret(ctx, request),
    passwordAuth: async (requester, request) => {
      // Since v1.17 an application service replaces its users' cross-signing keys without UIA
      // (application-service-api.md § Cross-signing): it has no password to give.
      if (requester.appservice !== undefined) return async () => undefined;
      const session = await userInteractiveAuth(ctx, { request, flows: PASSWORD_FLOWS, userId: requester.userId, bindParams: true });
      return () => finishUserInteractiveAuth(ctx, session);
    },
    uiaFallback: {
      params: (type) => fallbackStageParams(ctx, type),
      complete: (sessionId, type, auth, clientIp) => completeFallbackStage(ctx, sessionId, type, auth, clientIp),
    },
  };
};
