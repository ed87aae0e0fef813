/** The client-facing application service use-cases, over one context. */
import type { AppserviceRegistration } from '../../appservices/index.ts';
import type { AppservicesContext } from './context.ts';
import { setNetworkVisibility } from './networkDirectory.ts';
import { pingAppservice } from './ping.ts';
import { createAppserviceQueries, type AppserviceQueries } from './queries.ts';
import { createThirdPartyNetworks, type ThirdPartyNetworks } from './thirdParty.ts';

export interface Appservices extends ThirdPartyNetworks, AppserviceQueries {
  ping(caller: AppserviceRegistration | undefined, appserviceId: string, transactionId: string | undefined): Promise<{ duration_ms: number }>;
  setNetworkVisibility(caller: AppserviceRegistration | undefined, networkId: string, roomId: string, visibility: unknown): Promise<void>;
}

export const createAppservices = (ctx: AppservicesContext): Appservices => {
  const thirdParty = createThirdPartyNetworks(ctx);
  const queries = createAppserviceQueries(ctx);
  return {
    protocols: () => thirdParty.protocols(),
    protocol: (protocol) => thirdParty.protocol(protocol),
    lookup: (kind, protocol, fields) => thirdParty.lookup(kind, protocol, fields),
    queryAlias: (alias) => queries.queryAlias(alias),
    queryUser: (userId) => queries.queryUser(userId),
    ping: (caller, appserviceId, transactionId) => pingAppservice(ctx, caller, appserviceId, transactionId),
    setNetworkVisibility: (caller, networkId, roomId, visibility) => setNetworkVisibility(ctx, caller, networkId, roomId, visibility),
  };
};
