/**
 * What clients ask at start-up besides their session: `GET /.well-known/matrix/client`
 * (wellknown.yaml), `GET /.well-known/matrix/support` (support.yaml) and `GET /voip/turnServer`
 * (voip.yaml).
 */
import { MatrixError } from '../../../domain/index.ts';
import type { StrataMiddleware, StrataRouter } from '../../http/index.ts';
import { allowGuests } from './auth.ts';
import { clientPaths } from './paths.ts';

/** A way to reach the server's administrators (support.yaml `Contact`). */
export interface SupportContact {
  readonly role: string;
  readonly matrixId?: string;
  readonly emailAddress?: string;
}

/** The config's `support`: at least one contact or a support page (the config checks that). */
export interface SupportInfo {
  readonly contacts: readonly SupportContact[];
  readonly supportPage?: string;
}

const supportDocument = (support: SupportInfo): Record<string, unknown> => ({
  ...(support.contacts.length === 0 ? {} : {
    contacts: support.contacts.map((contact) => ({
      ...(contact.matrixId === undefined ? {} : { matrix_id: contact.matrixId }),
      ...(contact.emailAddress === undefined ? {} : { email_address: contact.emailAddress }),
      role: contact.role,
    })),
  }),
  ...(support.supportPage === undefined ? {} : { support_page: support.supportPage }),
});

/**
 * `publicBaseUrl` is the client-server API's public URL (`m.homeserver.base_url`), read per request
 * as the port may be chosen after the routes; without it there is no well-known document (404).
 */
export const addDiscoveryRoutes = (
  router: StrataRouter, publicBaseUrl: (() => string) | undefined, support: SupportInfo | undefined, auth: StrataMiddleware,
): void => {
  if (publicBaseUrl !== undefined) {
    router.get('/.well-known/matrix/client', (ctx) => {
      ctx.body = { 'm.homeserver': { base_url: publicBaseUrl().replace(/\/+$/, '') } };
    });
  }
  // Since v1.10. "404: No server support information available" when none is configured.
  const supportBody = support === undefined ? undefined : supportDocument(support);
  router.get('/.well-known/matrix/support', (ctx) => {
    if (supportBody === undefined) throw new MatrixError('M_NOT_FOUND', 404, 'No server support information available');
    ctx.body = supportBody;
  });
  for (const path of clientPaths('/voip/turnServer')) {
    // No TURN server is configured: Synapse then answers an empty object, and clients fall back to STUN/host candidates.
    router.get(path, allowGuests, auth, (ctx) => {
      ctx.body = {};
    });
  }
};
