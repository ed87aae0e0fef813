/**
 * Who may read the metadata warehouse: server admins, and the users the operator named as analysts
 * (`analytics.analysts`). Everyone else is refused before anything is revealed, not even whether a
 * warehouse is configured.
 */
import { MatrixError } from '../../errors.ts';
import type { AccountStore } from '../../ports/accounts.ts';

export interface AnalystAccessContext {
  /** Where the admin flag lives. */
  readonly users: Pick<AccountStore, 'getUser'>;
  /** Full user ids named in the configuration. */
  readonly analysts: readonly string[];
}

export interface AnalystAccess {
  isAnalyst(userId: string): Promise<boolean>;
  /** 403 M_FORBIDDEN unless the user may read analytics. */
  requireAnalyst(userId: string): Promise<void>;
}

export const createAnalystAccess = (ctx: AnalystAccessContext): AnalystAccess => {
  const named = new Set(ctx.analysts);
  const isAnalyst = async (userId: string): Promise<boolean> => {
    // A named analyst must still exist (a deactivated or never-registered id reads nothing).
    const user = await ctx.users.getUser(userId);
    if (user === undefined || user.deactivated === true) return false;
    return user.isAdmin || named.has(userId);
  };
  return {
    isAnalyst,
    requireAnalyst: async (userId) => {
      if (!(await isAnalyst(userId))) throw new MatrixError('M_FORBIDDEN', 403, 'Analytics are for server admins and analysts');
    },
  };
};
