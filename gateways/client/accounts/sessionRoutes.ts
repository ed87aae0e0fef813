/** `GET`/`POST /login`, `POST /refresh`, `POST /logout`, `POST /logout/all`, `GET /account/whoami`. */
import { requireString, type Accounts } from '../../../domain/app/accounts/index.ts';
import { readJsonBody, type StrataMiddleware, type StrataRouter } from '../../http/index.ts';
import { accessTokenOf, allowGuests, requesterOf, requireAccessToken } from './auth.ts';
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
      // An application service logs its users in with its as_token (m.login.application_service).
      const session = await accounts.login(await readJsonBody(ctx, { maxBytes: MAX_BODY_BYTES }), accessTokenOf(ctx));
      ctx.body = {
        user_id: session.userId,
        access_token: session.accessToken,
        device_id: session.deviceId,
        home_server: session.homeServer,
        ...(session.refreshToken === undefined ? {} : { refresh_token: session.refreshToken, expires_in_ms: session.expiresInMs }),
      };
    });
  }
  for (const path of clientPaths('/refresh')) {
    // Authenticated by the refresh token in the body, not by an access token (which may have expired).
    router.post(path, async (ctx) => {
      ctx.body = await accounts.refresh(requireString(await readJsonBody(ctx, { maxBytes: MAX_BODY_BYTES }), 'refresh_token'));
    });
  }
  // "all but the following Client-Server APIs" answer M_USER_LOCKED: logout works while locked.
  const logoutAuth = requireAccessToken(accounts, { allowLocked: true });
  for (const path of clientPaths('/logout')) {
    router.post(path, logoutAuth, async (ctx) => {
      await accounts.logout(requesterOf(ctx));
      ctx.body = {};
    });
  }
  for (const path of clientPaths('/logout/all')) {
    router.post(path, logoutAuth, async (ctx) => {
      await accounts.logoutAll(requesterOf(ctx));
      ctx.body = {};
    });
  }
  for (const path of clientPaths('/account/whoami')) {
    router.get(path, allowGuests, auth, (ctx) => {
      ctx.body = accounts.whoami(requesterOf(ctx));
    });
  }
};
