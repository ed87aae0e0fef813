/** Profiles: `GET /profile/{userId}` and `GET`/`PUT`/`DELETE /profile/{userId}/{keyName}`. */
import type { Accounts } from '../../../domain/app/accounts/index.ts';
import { readJsonBody, type StrataMiddleware, type StrataRouter } from '../../http/index.ts';
import { allowGuestsWhen, requesterOf } from './auth.ts';
import { clientPaths, MAX_PROFILE_BODY_BYTES } from './paths.ts';

/** § Guest access: a guest may set or delete its display name, no other profile field. */
const displayNameOnly = allowGuestsWhen((ctx) => ctx.params.keyName === 'displayname');

export const addProfileRoutes = (router: StrataRouter, accounts: Accounts, auth: StrataMiddleware): void => {
  for (const path of clientPaths('/profile/:userId')) {
    router.get(path, async (ctx) => {
      ctx.body = await accounts.getProfile(ctx.params.userId as string);
    });
  }
  for (const path of clientPaths('/profile/:userId/:keyName')) {
    router.get(path, async (ctx) => {
      ctx.body = await accounts.getProfileField(ctx.params.userId as string, ctx.params.keyName as string);
    });
    router.put(path, displayNameOnly, auth, async (ctx) => {
      const body = await readJsonBody(ctx, { maxBytes: MAX_PROFILE_BODY_BYTES });
      await accounts.setProfileField(requesterOf(ctx), ctx.params.userId as string, ctx.params.keyName as string, body);
      ctx.body = {};
    });
    router.delete(path, displayNameOnly, auth, async (ctx) => {
      await accounts.deleteProfileField(requesterOf(ctx), ctx.params.userId as string, ctx.params.keyName as string);
      ctx.body = {};
    });
  }
};
