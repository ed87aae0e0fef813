/**
 * Third-party networks (third_party_lookup.yaml): `GET /thirdparty/protocols`, `/protocol/{protocol}`,
 * `/location[/{protocol}]` and `/user[/{protocol}]`. Protocols come from bridges (application
 * services), and none is registered: answered as Synapse answers with no appservice protocols.
 */
import { MatrixError } from '../../../domain/index.ts';
import type { StrataMiddleware, StrataRouter } from '../../http/index.ts';
import { allowGuests } from './auth.ts';
import { clientPaths } from './paths.ts';

export const addThirdPartyRoutes = (router: StrataRouter, auth: StrataMiddleware): void => {
  for (const path of clientPaths('/thirdparty/protocols')) {
    router.get(path, allowGuests, auth, (ctx) => {
      ctx.body = {};
    });
  }
  for (const path of clientPaths('/thirdparty/protocol/:protocol')) {
    // "404: The protocol is unknown", with the spec's M_NOT_FOUND and Synapse's message.
    router.get(path, allowGuests, auth, () => {
      throw new MatrixError('M_NOT_FOUND', 404, 'Unknown protocol');
    });
  }
  // Synapse merges what each bridge of the protocol finds and answers an empty list when none
  // does, whatever the query (it neither checks `alias` / `userid` nor 404s an unknown protocol).
  for (const kind of ['location', 'user']) {
    for (const path of [...clientPaths(`/thirdparty/${kind}`), ...clientPaths(`/thirdparty/${kind}/:protocol`)]) {
      router.get(path, allowGuests, auth, (ctx) => {
        ctx.body = [];
      });
    }
  }
};
