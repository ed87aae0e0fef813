/**
 * The per-user data router under `/_matrix/client/v3` (and `r0`): account data, tags, filters,
 * push rules, pushers, typing, receipts, read markers, to-device, keys (cross-signing and key backups
 * included), presence and capabilities.
 */
import { Router } from '@koa/router';
import type { Accounts } from '../../../domain/app/accounts/index.ts';
import type { UserData } from '../../../domain/app/userData/index.ts';
import type { RequestState, StrataRouter } from '../../http/index.ts';
import { requireAccessToken } from '../accounts/index.ts';
import { addAccountDataRoutes } from './accountDataRoutes.ts';
import { addCrossSigningRoutes } from './crossSigningRoutes.ts';
import { addKeyBackupRoutes } from './keyBackupRoutes.ts';
import { addKeyRoutes } from './keyRoutes.ts';
import { addPresenceRoutes } from './presenceRoutes.ts';
import { addPushRuleRoutes } from './pushRuleRoutes.ts';
import { addPusherRoutes } from './pusherRoutes.ts';
import { addRoomRoutes } from './roomRoutes.ts';

export interface UserDataRouterOptions {
  readonly userData: UserData;
  /** `passwordAuth` guards cross-signing key uploads with user-interactive auth. */
  readonly accounts: Pick<Accounts, 'authenticate' | 'passwordAuth'>;
}

export const createUserDataRouter = (options: UserDataRouterOptions): StrataRouter => {
  const router = new Router<RequestState>();
  const auth = requireAccessToken(options.accounts);
  addAccountDataRoutes(router, options.userData, auth);
  addPushRuleRoutes(router, options.userData, auth);
  addPusherRoutes(router, options.userData, auth);
  addRoomRoutes(router, options.userData, auth);
  addKeyRoutes(router, options.userData, auth);
  addCrossSigningRoutes(router, options.userData, options.accounts, auth);
  addKeyBackupRoutes(router, options.userData, auth);
  addPresenceRoutes(router, options.userData, auth);
  return router;
};
