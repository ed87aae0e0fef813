/**
 * `POST /register`, `GET /register/available`, `GET /v1/register/m.login.registration_token/validity`
 * and `POST /account/password`.
 */
import { MatrixError } from '../../../domain/index.ts';
import {
  optionalBoolean,
  optionalString,
  requireString,
  type Accounts,
} from '../../../domain/app/accounts/index.ts';
import { readJsonBody, type StrataMiddleware, type StrataRouter } from '../../http/index.ts';
import { accessTokenOf, optionalAccessToken, optionalRequesterOf } from './auth.ts';
import { clientPaths, MAX_BODY_BYTES } from './paths.ts';
import { guardedRequest, renderUiaChallenge } from './uia.ts';

const kindOf = (value: unknown): 'user' | 'guest' => {
  if (value === undefined || value === 'user') return 'user';
  if (value === 'guest') return 'guest';
  throw new MatrixError('M_INVALID_PARAM', 400, "'kind' must be 'user' or 'guest'");
};

export const addRegisterRoutes = (
  router: StrataRouter,
  accounts: Accounts,
  registrationLimit: StrataMiddleware,
): void => {
  for (const path of clientPaths('/register')) {
    router.post(path, registrationLimit, renderUiaChallenge, async (ctx) => {
      const kind = kindOf(ctx.query.kind);
      const body = await readJsonBody(ctx, { maxBytes: MAX_BODY_BYTES });
      const username = optionalString(body, 'username');
      const password = optionalString(body, 'password');
      const deviceId = optionalString(body, 'device_id');
      const initialDeviceDisplayName = optionalString(body, 'initial_device_display_name');
      const guestAccessToken = optionalString(body, 'guest_access_token');
      const type = optionalString(body, 'type');
      const accessToken = accessTokenOf(ctx);
      const result = await accounts.register({
        kind,
        ...(type === undefined ? {} : { type }),
        ...(accessToken === undefined ? {} : { accessToken }),
        ...(username === undefined ? {} : { username }),
        ...(password === undefined ? {} : { password }),
        ...(deviceId === undefined ? {} : { deviceId }),
        ...(initialDeviceDisplayName === undefined ? {} : { initialDeviceDisplayName }),
        ...(guestAccessToken === undefined ? {} : { guestAccessToken }),
        inhibitLogin: optionalBoolean(body, 'inhibit_login') ?? false,
        request: guardedRequest(ctx, body),
        refreshToken: optionalBoolean(body, 'refresh_token') ?? false,
      });
      ctx.body = {
        user_id: result.userId,
        home_server: result.homeServer,
        ...(result.accessToken === undefined ? {} : { access_token: result.accessToken, device_id: result.deviceId }),
        ...(result.refreshToken === undefined ? {} : { refresh_token: result.refreshToken, expires_in_ms: result.expiresInMs }),
      };
    });
  }
  for (const path of clientPaths('/register/available')) {
    router.get(path, registrationLimit, async (ctx) => {
      const username = ctx.query.username;
      if (typeof username !== 'string') throw new MatrixError('M_MISSING_PARAM', 400, "Missing 'username'");
      ctx.body = { available: await accounts.checkUsernameAvailable(username) };
    });
  }
  // registration_tokens.yaml: v1 only; "servers should be sure to rate limit this endpoint".
  router.get('/_matrix/client/v1/register/m.login.registration_token/validity', registrationLimit, (ctx) => {
    const token = ctx.query.token;
    // A repeated parameter: the first, as Synapse reads it.
    ctx.body = accounts.registrationTokenValidity(Array.isArray(token) ? token[0] : token);
  });
  for (const path of clientPaths('/account/password')) {
    // Without an access token: a password reset, proven by email.
    router.post(path, optionalAccessToken(accounts), renderUiaChallenge, async (ctx) => {
      const body = await readJsonBody(ctx, { maxBytes: MAX_BODY_BYTES });
      await accounts.changePassword(optionalRequesterOf(ctx), {
        newPassword: requireString(body, 'new_password'),
        logoutDevices: optionalBoolean(body, 'logout_devices') ?? true,
        request: guardedRequest(ctx, body),
      });
      ctx.body = {};
    });
  }
};
