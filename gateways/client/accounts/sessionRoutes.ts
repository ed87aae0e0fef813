/** `GET`/`POST /login`, `POST /logout`, `POST /logout/all`, `GET /account/whoami`. */
import type { Accounts } from '../../../domain/app/accounts/index.ts';
import { readJsonBody, type StrataMiddleware, type StrataRouter } from '../../http/index.ts';
import { requesterOf } from './auth.ts';
import { clientPaths, MAX_BODY_BYTES } from './paths.ts';

export const addSessionRoutes = (
  router: StrataRouter,
  accounts: Accounts,
  auth: StrataMiddleware,
  loginLimit: StrataMiddleware,
): void => {
  for (const path of clientPaths('/login')) {
    router.get(path, (ctx) => {
      ctx.body = accounts.loginFlows();
    });
    router.post(path, loginLimit, async (ctx) => {
      const session = await accounts.login(await readJsonBody(ctx, { maxBytes: MAX_BODY_BYTES }));
      ctx.body = {
        user_id: session.userId,
        access_token: session.accessToken,
        device_id: session.deviceId,
        home_server: session.homeServer,
      };
    });
  }
  for (const path of clientPaths('/logout')) {
    router.post(path, auth, async (ctx) => {
      await accounts.logout(requesterOf(ctx));
      ctx.body = {};
    });
  }
  for (const path of clientPaths('/logout/all')) {
    router.post(path, auth, async (ctx) => {
      await accounts.logoutAll(requesterOf(ctx));
      ctx.body = {};
    });
  }
  for (const path of clientPaths('/account/whoami')) {
    router.get(path, auth, (ctx) => {
      ctx.body = accounts.whoami(requesterOf(ctx));
    });
  }
};
