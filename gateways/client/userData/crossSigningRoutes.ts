/** Cross-signing: `POST /keys/device_signing/upload` and `POST /keys/signatures/upload`. */
import type { Accounts } from '../../../domain/app/accounts/index.ts';
import type { UserData } from '../../../domain/app/userData/index.ts';
import { readJsonBody, type StrataMiddleware, type StrataRouter } from '../../http/index.ts';
import { allowGuests, clientPathsWithUnstable, guardedRequest, renderUiaChallenge, requesterOf } from '../accounts/index.ts';
import { MAX_BATCH_BODY_BYTES, MAX_BODY_BYTES } from './limits.ts';

export const addCrossSigningRoutes = (
  router: StrataRouter, userData: UserData, accounts: Pick<Accounts, 'passwordAuth'>, auth: StrataMiddleware,
): void => {
  for (const path of clientPathsWithUnstable('/keys/device_signing/upload')) {
    router.post(path, auth, renderUiaChallenge, async (ctx) => {
      const requester = requesterOf(ctx);
      const body = await readJsonBody(ctx, { maxBytes: MAX_BODY_BYTES });
      ctx.body = await userData.uploadCrossSigningKeys(requester, body,
        () => accounts.passwordAuth(requester, guardedRequest(ctx, body)));
    });
  }
  for (const path of clientPathsWithUnstable('/keys/signatures/upload')) {
    router.post(path, allowGuests, auth, async (ctx) => {
      ctx.body = await userData.uploadSignatures(requesterOf(ctx), await readJsonBody(ctx, { maxBytes: MAX_BATCH_BODY_BYTES }));
    });
  }
};
