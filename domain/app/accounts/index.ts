/** Accounts: registration, login, access tokens, devices, passwords, profiles (public surface). */
export { createAccounts, type Accounts } from './accounts.ts';
export type { AccountsContext, GuardedRequest, Requester } from './context.ts';
export type { ChangePasswordCommand } from './password.ts';
export type { DeactivateCommand } from './deactivate.ts';
export type { OpenIdCredentials } from './openId.ts';
export type { RegisterCommand, RegisterResult } from './register.ts';
export type { IssuedSession } from './sessions.ts';
export type { AuthenticateOptions } from './login.ts';
export type { IdentityAssertion } from './appservices.ts';
export { userLockedError, userSuspendedError, type ModerationAction } from './moderation.ts';
export { withSuspensionGuard, type SuspensionGuardDeps, type SuspensionGuardedWriter } from './suspension.ts';
export { sharedSecretMac, type SharedSecretRegistration } from './sharedSecret.ts';
export { hashAccessToken } from './secrets.ts';
export { SUBMIT_TOKEN_PATH, type ThreePidPurpose } from './threePids.ts';
export type { ThreePidServices } from './context.ts';
export { isUiaChallenge, PASSWORD_FLOWS, UiaChallenge } from './uia.ts';
export { optionalBoolean, optionalObject, optionalString, requireString, requireStringArray } from './params.ts';
// The ports these use-cases need, so adapters can implement them from this one surface.
export type * from '../../ports/accounts.ts';
