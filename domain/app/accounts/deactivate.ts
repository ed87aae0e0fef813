/**
 * `POST /account/deactivate` (account_deactivation.yaml), behind `m.login.password` UIA like
 * device deletion. Afterwards the account cannot log in (its password hash is forgotten and login
 * answers M_USER_DEACTIVATED, as Synapse does), its devices and tokens are gone, its displayname
 * and avatar are cleared (as Synapse clears them) and the `onAccountDeactivated` hook makes it
 * leave its rooms; with `erase`, `onAccountErased` then erases its events' content. The user id
 * stays taken, so it can never be registered again.
 */
import { MatrixError } from '../../errors.ts';
import type { AccountsContext, GuardedRequest, Requester } from './context.ts';
import { removeDevices } from './devices.ts';
import { forgetThreePids } from './threePids.ts';
import { finishUserInteractiveAuth, PASSWORD_FLOWS, userInteractiveAuth } from './uia.ts';

export interface DeactivateCommand {
  /** The request as the client made it, its `auth` included (user-interactive auth). */
  readonly request: GuardedRequest;
  /**
   * Erase the user's content too (since v1.10): after leaving the rooms, their events' content is
   * stripped from the read models and its keys destroyed (docs/erasure.md).
   */
  readonly erase: boolean;
}

/** The profile fields Synapse clears on deactivation. */
const CLEARED_PROFILE_FIELDS = ['displayname', 'avatar_url'] as const;

export const deactivatedError = (): MatrixError => new MatrixError('M_USER_DEACTIVATED', 403, 'This account has been deactivated');

/**
 * `requester` is undefined when the request came without an access token (the spec allows it):
 * the password stage then names the account.
 */
export const deactivateAccount = async (
  ctx: AccountsContext,
  requester: Requester | undefined,
  command: DeactivateCommand,
): Promise<{ id_server_unbind_result: 'success' | 'no-support' }> => {
  const session = await userInteractiveAuth(ctx, {
    request: command.request,
    flows: PASSWORD_FLOWS,
    bindParams: true,
    ...(requester === undefined ? {} : { userId: requester.userId }),
  });
  const userId = requester?.userId ?? session.userId;
  if (userId === undefined) throw new MatrixError('M_FORBIDDEN', 403, 'No account was authenticated');
  // Addresses bound at identity servers are unbound first: one that cannot be stops the
  // deactivation while it can still be retried, as in Synapse.
  const idServer = command.request.body.id_server;
  const unbound = await forgetThreePids(ctx, userId, typeof idServer === 'string' ? idServer : undefined);
  await ctx.store.deactivateUser(userId);
  await removeDevices(ctx, userId, { allBut: undefined });
  for (const field of CLEARED_PROFILE_FIELDS) await ctx.store.deleteProfileField(userId, field);
  await ctx.onAccountDeactivated?.(userId);
  // After the leaves, so the member events that carried the profile are no longer current state.
  if (command.erase) await ctx.onAccountErased?.(userId);
  await finishUserInteractiveAuth(ctx, session);
  return { id_server_unbind_result: unbound };
};
