/**
 * Third-party invites over federation (server-server-api § Third-party invites,
 * third_party_invite.yaml):
 * - `PUT /_matrix/federation/v1/3pid/onbind`: an identity server tells us an address was bound to
 *   one of our users and hands over the invites stored for it. Not signed (the spec lists no
 *   `security`, Synapse requires no auth): the caller is an identity server, not a homeserver, and
 *   each invite's `signed` block is what the room's auth rules verify. Synapse serves POST too
 *   (Sydent posts).
 * - `PUT /_matrix/federation/v1/exchange_third_party_invite/{roomId}` (signed by the origin): the
 *   invitee's server forwards such an invite made by one of our users.
 */
import { Router } from '@koa/router';
import type { JsonObject } from '../../domain/index.ts';
import { readJsonBody, type RequestState, type StrataMiddleware } from '../http/index.ts';
import { signedContent } from './auth.ts';
import { pathParam } from './params.ts';

export interface FederationThirdPartyInviteRoutesOptions {
  readonly onBind: (body: JsonObject) => Promise<unknown>;
  readonly exchange: (roomId: string, event: JsonObject) => Promise<void>;
  /** Checks the X-Matrix signature of server requests. */
  readonly auth: StrataMiddleware;
}

/** Up to 100 invites, each a small signed object. */
const MAX_BODY_BYTES = 256 * 1024;

export const createFederationThirdPartyInviteRouter = (options: FederationThirdPartyInviteRoutesOptions): Router<RequestState> => {
  const router = new Router<RequestState>();
  for (const method of ['put', 'post'] as const) {
    router[method]('/_matrix/federation/v1/3pid/onbind', async (ctx) => {
      await options.onBind(await readJsonBody(ctx, { maxBytes: MAX_BODY_BYTES }));
      ctx.body = {};
    });
  }
  router.put('/_matrix/federation/v1/exchange_third_party_invite/:roomId', options.auth, async (ctx) => {
    await options.exchange(pathParam(ctx, 'roomId'), signedContent(ctx));
    ctx.body = {};
  });
  return router;
};
