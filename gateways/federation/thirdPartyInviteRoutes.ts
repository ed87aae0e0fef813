/**
 * `PUT /_matrix/federation/v1/3pid/onbind` (server-server-api § Third-party invites,
 * third_party_invite.yaml): an identity server tells us an address was bound to one of our users
 * and hands over the invites stored for it. Not signed (the spec lists no `security`, Synapse
 * requires no auth): the caller is an identity server, not a homeserver, and each invite's
 * `signed` block is what the room's auth rules verify. Synapse serves POST too (Sydent posts).
 */
import { Router } from '@koa/router';
import type { JsonObject } from '../../domain/index.ts';
import { readJsonBody, type RequestState } from '../http/index.ts';

export interface FederationThirdPartyInviteRoutesOptions {
  readonly onBind: (body: JsonObject) => Promise<unknown>;
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
  return router;
};
