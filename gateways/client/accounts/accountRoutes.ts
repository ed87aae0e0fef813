/**
 * `POST /account/deactivate`, the `/account/3pid*` family, every `…/{email,msisdn}/requestToken`, `POST /user/{userId}/openid/request_token`
 * and `GET /admin/whois/{userId}`.
 */
import { optionalBoolean, optionalObject, type Accounts } from '../../../domain/app/accounts/index.ts';
import { readJsonBody, type StrataMiddleware, type StrataRouter } from '../../http/index.ts';
import { optionalAccessToken, optionalRequesterOf, requesterOf } from './auth.ts';
import { clientPaths, MAX_BODY_BYTES } from './paths.ts';
import { renderUiaChallenge } from './uia.ts';

export const addAccountRoutes = (router: StrataRouter, accounts: Accounts, auth: StrataMiddleware): void => {
  for (const path of clientPaths('/account/deactivate')) {
    // "An access token should be submitted to this endpoint if the client has an active session."
    router.post(path, optionalAccessToken(accounts), renderUiaChallenge, async (ctx) => {
      const body = await readJsonBody(ctx, { maxBytes: MAX_BODY_BYTES, allowEmpty: true });
      ctx.body = await accounts.deactivate(optionalRequesterOf(ctx), {
        auth: optionalObject(body, 'auth'),
        erase: optionalBoolean(body, 'erase') ?? false,
      });
    });
  }
  for (const path of clientPaths('/account/3pid')) {
    router.get(path, auth, (ctx) => {
      ctx.body = accounts.threePids.list();
    });
    router.post(path, auth, async (ctx) => {
      accounts.threePids.addDeprecated(await readJsonBody(ctx, { maxBytes: MAX_BODY_BYTES }));
    });
  }
  for (const path of clientPaths('/account/3pid/add')) {
    router.post(path, auth, renderUiaChallenge, async (ctx) => {
      const body = await readJsonBody(ctx, { maxBytes: MAX_BODY_BYTES });
      await accounts.threePids.add(requesterOf(ctx), body, optionalObject(body, 'auth'));
    });
  }
  for (const path of clientPaths('/account/3pid/bind')) {
    router.post(path, auth, async (ctx) => {
      accounts.threePids.bind(await readJsonBody(ctx, { maxBytes: MAX_BODY_BYTES }));
    });
  }
  for (const action of ['delete', 'unbind']) {
    for (const path of clientPaths(`/account/3pid/${action}`)) {
      router.post(path, auth, async (ctx) => {
        ctx.body = accounts.threePids.remove(await readJsonBody(ctx, { maxBytes: MAX_BODY_BYTES }));
      });
    }
  }
  // Every 3PID validation request, for an account's contacts, registration or a password reset
  // (administrative_contact.yaml, registration.yaml, password_management.yaml): none can be sent.
  const prefixes = { account: '/account/3pid', registration: '/register', passwordReset: '/account/password' } as const;
  for (const [purpose, prefix] of Object.entries(prefixes) as [keyof typeof prefixes, string][]) {
    for (const medium of ['email', 'msisdn'] as const) {
      for (const path of clientPaths(`${prefix}/${medium}/requestToken`)) {
        router.post(path, (ctx) => accounts.threePids.requestToken(purpose, medium, () => readJsonBody(ctx, { maxBytes: MAX_BODY_BYTES })));
      }
    }
  }
  for (const path of clientPaths('/user/:userId/openid/request_token')) {
    router.post(path, auth, async (ctx) => {
      await readJsonBody(ctx, { maxBytes: MAX_BODY_BYTES, allowEmpty: true });
      ctx.body = await accounts.requestOpenIdToken(requesterOf(ctx), ctx.params.userId as string);
    });
  }
  for (const path of clientPaths('/admin/whois/:userId')) {
    router.get(path, auth, async (ctx) => {
      ctx.body = await accounts.whois(requesterOf(ctx), ctx.params.userId as string);
    });
  }
};
