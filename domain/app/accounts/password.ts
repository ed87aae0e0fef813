/** `POST /account/password` (password_management.yaml), behind `m.login.password` UIA. */
import type { AccountsContext, AuthDict, Requester } from './context.ts';
import { removeDevices } from './devices.ts';
import { checkPasswordLength } from './register.ts';
import { finishUserInteractiveAuth, PASSWORD_FLOWS, userInteractiveAuth } from './uia.ts';

export interface ChangePasswordCommand {
  readonly newPassword: string;
  /** Defaults to true: the user's other devices and their tokens are revoked. */
  readonly logoutDevices: boolean;
  readonly auth: AuthDict;
}

export const changePassword = async (ctx: AccountsContext, requester: Requester, command: ChangePasswordCommand): Promise<void> => {
  checkPasswordLength('new_password', command.newPassword);
  const session = await userInteractiveAuth(ctx, {
    operation: 'password',
    flows: PASSWORD_FLOWS,
    auth: command.auth,
    userId: requester.userId,
  });
  await ctx.store.setPasswordHash(requester.userId, await ctx.hasher.hash(command.newPassword));
  // "The homeserver SHOULD NOT revoke the access token provided in the request."
  if (command.logoutDevices) await removeDevices(ctx, requester.userId, { allBut: requester.deviceId });
  await finishUserInteractiveAuth(ctx, session);
};
