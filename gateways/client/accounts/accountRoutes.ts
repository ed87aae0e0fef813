/**
 * `POST /account/deactivate`, the `/account/3pid*` family, every `…/{email,msisdn}/requestToken` and the
 * token's submission, `POST /user/{userId}/openid/request_token`
 * and `GET /admin/whois/{userId}`.
 */
import { optionalBoolean, SUBMIT_TOKEN_PATH, type Accounts } from '../../../domain/app/accounts/index.ts';
import { MatrixError } from '../../../domain/index.ts';
import { readJsonBody, type StrataMiddleware, type StrataRouter } from '../../http/index.ts';
import { optionalAccessToken, optionalRequesterOf, requesterOf } from './auth.ts';
import { clientPaths, MAX_BODY_BYTES } from './paths.ts';
import { guardedRequest, renderUiaChallenge } from './uia.ts';

/** The page a mailed link shows; the message is ours, never the request's. */
const validationPage = (message: string): string =>
  `<!DOCTYPE html><html><head><meta charset="utf-8"><title>Email validation</title></head><body><p>${message}</p></body></html>`;

export const addAccountRoutes = (router: StrataRouter, accounts: Accounts, auth: StrataMiddleware, threePidLimit: StrataMiddleware): void => {
  for (const path of clientPaths('/account/deactivate')) {
    // "An access token should be submitted to this endpoint if the client has an active session."
    router.post(path, optionalAccessToken(accounts), renderUiaChallenge, async (ctx) => {
      const body = await readJsonBody(ctx, { maxBytes: MAX_BODY_BYTES, allowEmpty: true });
      ctx.body = await accounts.deactivate(optionalRequesterOf(ctx), {
        request: guardedRequest(ctx, body),
        erase: optionalBoolean(body, 'erase') ?? false,
      });
    });
  }
  for (const path of clientPaths('/account/3pid')) {
    router.get(path, auth, async (ctx) => {
      ctx.body = await accounts.threePids.list(requesterOf(ctx));
    });
    router.post(path, auth, async (ctx) => {
      accounts.threePids.addDeprecated(await readJsonBody(ctx, { maxBytes: MAX_BODY_BYTES }));
    });
  }
  for (const path of clientPaths('/account/3pid/add')) {
    router.post(path, auth, renderUiaChallenge, async (ctx) => {
      const body = await readJsonBody(ctx, { maxBytes: MAX_BODY_BYTES });
      await accounts.threePids.add(requesterOf(ctx), body, guardedRequest(ctx, body));
      ctx.body = {};
    });
  }
  for (const path of clientPaths('/account/3pid/bind')) {
    router.post(path, auth, async (ctx) => {
      await accounts.threePids.bind(requesterOf(ctx), await readJsonBody(ctx, { maxBytes: MAX_BODY_BYTES }));
      ctx.body = {};
    });
  }
  for (const action of ['delete', 'unbind'] as const) {
    for (const path of clientPaths(`/account/3pid/${action}`)) {
      router.post(path, auth, async (ctx) => {
        ctx.body = await accounts.threePids.remove(requesterOf(ctx), action, await readJsonBody(ctx, { maxBytes: MAX_BODY_BYTES }));
      });
    }
  }
  // Every 3PID validation request, for an account's contacts, registration or a password reset
  // (administrative_contact.yaml, registration.yaml, password_management.yaml), rate-limited per
  // client IP: each may send a mail to any address.
  const prefixes = { account: '/account/3pid', registration: '/register', passwordReset: '/account/password' } as const;
  for (const [purpose, prefix] of Object.entries(prefixes) as [keyof typeof prefixes, string][]) {
    for (const medium of ['email', 'msisdn'] as const) {
      for (const path of clientPaths(`${prefix}/${medium}/requestToken`)) {
        router.post(path, threePidLimit, async (ctx) => {
          ctx.body = await accounts.threePids.requestToken(purpose, medium, () => readJsonBody(ctx, { maxBytes: MAX_BODY_BYTES }));
        });
      }
    }
  }
  // The mailed link (GET, query parameters), opened in a browser: a page saying whether it worked,
  // or on to the request's `next_link`, as Synapse does. `submit_url` (POST, the identity
  // service's `submitToken` body: `sid`, `client_secret`, `token`) answers JSON.
  router.get(SUBMIT_TOKEN_PATH, async (ctx) => {
    const first = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value);
    let nextLink: string | undefined;
    try {
      ({ nextLink } = await accounts.threePids.submitToken(first(ctx.query.sid), first(ctx.query.client_secret), first(ctx.query.token)));
    } catch (error) {
      if (!(error instanceof MatrixError)) throw error;
      ctx.status = error.status;
      ctx.type = 'text/html; charset=utf-8';
      ctx.body = validationPage('This link is not valid (any more). Ask your Matrix client to send a new one.');
      return;
    }
    if (nextLink !== undefined) return ctx.redirect(nextLink);
    ctx.type = 'text/html; charset=utf-8';
    ctx.body = validationPage('Your email address is validated. You can return to your Matrix client.');
  });
  router.post(SUBMIT_TOKEN_PATH, async (ctx) => {
    const body = await readJsonBody(ctx, { maxBytes: MAX_BODY_BYTES });
    const { success } = await accounts.threePids.submitToken(body.sid, body.client_secret, body.token);
    ctx.body = { success };
  });
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
