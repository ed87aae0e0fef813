/**
 * What clients ask at start-up besides their session: `GET /.well-known/matrix/client`
 * (wellknown.yaml), `GET /voip/turnServer` (voip.yaml) and `GET /thirdparty/protocols`
 * (third_party_lookup.yaml).
 */
import type { StrataMiddleware, StrataRouter } from '../../http/index.ts';
import { clientPaths } from './paths.ts';

/**
 * `publicBaseUrl` is the client-server API's public URL (`m.homeserver.base_url`), read per request
 * as the port may be chosen after the routes; without it there is no well-known document (404).
 */
export const addDiscoveryRoutes = (router: StrataRouter, publicBaseUrl: (() => string) | undefined, auth: StrataMiddleware): void => {
  if (publicBaseUrl !== undefined) {
    router.get('/.well-known/matrix/client', (ctx) => {
      ctx.body = { 'm.homeserver': { base_url: publicBaseUrl().replace(/\/+$/, '') } };
    });
  }
  for (const path of clientPaths('/voip/turnServer')) {
    // No TURN server is configured: Synapse then answers an empty object, and clients fall back to STUN/host candidates.
    router.get(path, auth, (ctx) => {
      ctx.body = {};
    });
  }
  for (const path of clientPaths('/thirdparty/protocols')) {
    // No bridges (application services) are registered, so no protocols.
    router.get(path, auth, (ctx) => {
      ctx.body = {};
    });
  }
};
