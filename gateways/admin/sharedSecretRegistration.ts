/**
 * Synapse-compatible shared-secret registration (`GET`/`POST /_synapse/admin/v1/register`), used
 * by tooling such as `register_new_matrix_user` to bootstrap accounts.
 */
import { Router } from '@koa/router';
import { MatrixError } from '../../domain/index.ts';
import { optionalBoolean, optionalString, requireString, type Accounts } from '../../domain/app/accounts/index.ts';
import { readJsonBody, type RequestState, type StrataRouter } from '../http/index.ts';

const PATH = '/_synapse/admin/v1/register';
const MAX_BODY_BYTES = 16 * 1024;

export const createSharedSecretRegistrationRouter = (accounts: Accounts): StrataRouter => {
  const router = new Router<RequestState>();
  router.get(PATH, async (ctx) => {
    ctx.body = { nonce: await accounts.newRegistrationNonce() };
  });
  router.post(PATH, async (ctx) => {
    const body = await readJsonBody(ctx, { maxBytes: MAX_BODY_BYTES });
    const displayName = optionalString(body, 'displayname');
    const userType = optionalString(body, 'user_type');
    const admin = optionalBoolean(body, 'admin') ?? false;
    if (userType !== undefined && !['support', 'bot'].includes(userType)) {
      throw new MatrixError('M_INVALID_PARAM', 400, "'user_type' must be 'support' or 'bot'");
    }
    const session = await accounts.registerWithSharedSecret({
      nonce: requireString(body, 'nonce'),
      username: requireString(body, 'username'),
      password: requireString(body, 'password'),
      admin,
      mac: requireString(body, 'mac'),
      ...(displayName === undefined ? {} : { displayName }),
      ...(userType === undefined ? {} : { userType }),
    });
    ctx.body = {
      access_token: session.accessToken,
      user_id: session.userId,
      home_server: session.homeServer,
      device_id: session.deviceId,
    };
  });
  return router;
};
