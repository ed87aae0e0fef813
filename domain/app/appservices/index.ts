/** Application services seen from clients: ping, third-party networks, bridges' network lists, queries on unknown ids. */
export { createAppservices, type Appservices } from './appservices.ts';
export type { AppservicesContext } from './context.ts';
export { resolveAliasAskingBridges, type AppserviceQueries } from './queries.ts';
export type { ThirdPartyKind, ThirdPartyNetworks } from './thirdParty.ts';
