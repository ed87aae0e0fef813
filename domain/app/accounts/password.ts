/**
 * `POST /account/password` (password_management.yaml): behind `m.login.password` UIA for a signed-in
 * user, or, without an access token and with email configured, behind `m.login.email.identity`
 * (a password reset: the proven address names the account).
 */
import { MatrixError } from '../../errors.ts';
import type { AccountsContext, GuardedRequest, Requester } from './context.ts';
import { removeDevices } from './devices.ts';
import { EMAIL_IDENTITY_STAGE } from './emailIdentity.ts';
import { checkPasswordLength } from './register.ts';
import { ownerOfProvenThreePid } from './threePids.ts';
import { finishUserInteractiveAuth, PASSWORD_FLOWS, userInteractiveAuth } from './uia.ts';

export interface ChangePasswordCommand {
  readonly newPassword: string;
  /** Defaults to true: the user's other devices and their tokens are revoked. */
  readonly logoutDevices: boolean;
  /** The request as the client made it, its `auth` included (user-interactive auth). */
  readonly request: GuardedRequest;
}

/** `requester` is undefined for a request without an access token: only a password reset by email can be one. */
export const changePassword = async (ctx: AccountsContext, requester: Requester | undefined, command: ChangePasswordCommand): Promise<void> => {
  if (requester === undefined && ctx.threePids?.email === undefined) throw new MatrixError('M_MISSING_TOKEN', 401, 'Missing access token');
  checkPasswordLength('new_password', command.newPassword);
  const session = await userInteractiveAuth(ctx, requester === undefined
    ? { request: command.request, flows: [[EMAIL_IDENTITY_STAGE]], bindParams: true }
    : { request: command.request, flows: PASSWORD_FLOWS, userId: requester.userId, bindParams: true });
  const userId = requester?.userId ?? (await ownerOfProvenThreePid(ctx, session.sessionId));
  // Synapse's answer when the address left its account while the reset was under way.
  if (userId === undefined) throw new MatrixError('M_NOT_FOUND', 400, 'Email address not found');
  await ctx.store.setPasswordHash(userId, await ctx.hasher.hash(command.newPassword));
  // "The homeserver SHOULD NOT revoke the access token provided in the request."
  if (command.logoutDevices) await removeDevices(ctx, userId, { allBut: requester?.deviceId });
  await finishUserInteractiveAuth(ctx, session);
};
