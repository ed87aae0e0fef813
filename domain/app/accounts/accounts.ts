/**
 * The account use-cases bound to their dependencies: what the gateways call. Built once in the
 * composition root from an AccountsContext.
 */
import type { JsonObject } from '../../json.ts';
import type { ProfileFields } from '../../ports/accounts.ts';
import type { AccountsContext, AuthDict, Requester } from './context.ts';
import { deleteDevices, getDevice, listDevices, renameDevice } from './devices.ts';
import { createAuthenticator, login, loginFlows, logout, logoutAll, whoami } from './login.ts';
import { changePassword, type ChangePasswordCommand } from './password.ts';
import { deleteProfileField, getProfile, getProfileField, setProfileField } from './profile.ts';
import { checkUsernameAvailable, register, type RegisterCommand, type RegisterResult } from './register.ts';
import type { IssuedSession } from './sessions.ts';
import { newRegistrationNonce, registerWithSharedSecret, type SharedSecretRegistration } from './sharedSecret.ts';
import { finishUserInteractiveAuth, PASSWORD_FLOWS, userInteractiveAuth } from './uia.ts';

export interface Accounts {
  readonly serverName: string;
  authenticate(accessToken: string, ip?: string): Promise<Requester>;
  loginFlows(): { flows: { type: string }[] };
  login(body: JsonObject): Promise<IssuedSession>;
  logout(requester: Requester): Promise<void>;
  logoutAll(requester: Requester): Promise<void>;
  whoami(requester: Requester): { user_id: string; device_id: string; is_guest: boolean };
  register(command: RegisterCommand): Promise<RegisterResult>;
  checkUsernameAvailable(username: string): Promise<true>;
  changePassword(requester: Requester, command: ChangePasswordCommand): Promise<void>;
  listDevices(requester: Requester): Promise<JsonObject[]>;
  getDevice(requester: Requester, deviceId: string): Promise<JsonObject>;
  renameDevice(requester: Requester, deviceId: string, displayName: string | undefined): Promise<void>;
  deleteDevices(requester: Requester, deviceIds: readonly string[], auth: AuthDict): Promise<void>;
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
  return {
    serverName: ctx.serverName,
    authenticate: (token, ip) => authenticator.authenticate(token, ip),
    loginFlows,
    login: (body) => login(ctx, body),
    logout: (requester) => logout(ctx, requester),
    logoutAll: (requester) => logoutAll(ctx, requester),
    whoami,
    register: (command) => register(ctx, command),
    checkUsernameAvailable: (username) => checkUsernameAvailable(ctx, username),
    changePassword: (requester, command) => changePassword(ctx, requester, command),
    listDevices: (requester) => listDevices(ctx, requester),
    getDevice: (requester, deviceId) => getDevice(ctx, requester, deviceId),
    renameDevice: (requester, deviceId, name) => renameDevice(ctx, requester, deviceId, name),
    deleteDevices: (requester, deviceIds, auth) => deleteDevices(ctx, requester, deviceIds, auth),
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
