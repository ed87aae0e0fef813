/**
 * Third-party networks (third_party_lookup.yaml): `GET /thirdparty/protocols`, `/protocol/{protocol}`,
 * `/location[/{protocol}]` and `/user[/{protocol}]`, answered by the bridges that declare the
 * protocol (domain/app/appservices/thirdParty.ts). As Synapse, lookups that find nothing answer an
 * empty list, and every query parameter but the access token is passed on to the bridges.
 */
import type { ThirdPartyKind, ThirdPartyNetworks } from '../../../domain/app/appservices/index.ts';
import type { StrataContext, StrataMiddleware, StrataRouter } from '../../http/index.ts';
import { allowGuests } from './auth.ts';
import { clientPaths } from './paths.ts';

/** The request's query parameters for the bridges: the last value of a repeated one, no access token. */
const fieldsOf = (ctx: StrataContext): Record<string, string> => {
  const fields: Record<string, string> = {};
  for (const [name, value] of Object.entries(ctx.query)) {
    if (name === 'access_token' || value === undefined) continue;
    const last = Array.isArray(value) ? value[value.length - 1] : value;
    if (last !== undefined) fields[name] = last;
  }
  return fields;
};

export const addThirdPartyRoutes = (router: StrataRouter, auth: StrataMiddleware, networks: ThirdPartyNetworks): void => {
  for (const path of clientPaths('/thirdparty/protocols')) {
    router.get(path, allowGuests, auth, async (ctx) => {
      ctx.body = await networks.protocols();
    });
  }
  for (const path of clientPaths('/thirdparty/protocol/:protocol')) {
    router.get(path, allowGuests, auth, async (ctx) => {
      ctx.body = await networks.protocol(ctx.params.protocol as string);
    });
  }
  for (const kind of ['location', 'user'] as const satisfies readonly ThirdPartyKind[]) {
    for (const path of clientPaths(`/thirdparty/${kind}`)) {
      router.get(path, allowGuests, auth, async (ctx) => {
        ctx.body = await networks.lookup(kind, undefined, fieldsOf(ctx));
      });
    }
    for (const path of clientPaths(`/thirdparty/${kind}/:protocol`)) {
      router.get(path, allowGuests, auth, async (ctx) => {
        ctx.body = await networks.lookup(kind, ctx.params.protocol as string, fieldsOf(ctx));
      });
    }
  }
};
