/**
 * The server-server API as other homeservers call it (on the federation listener and the client
 * listener alike): our server keys, and every /_matrix/federation/* route but /version and
 * /openid/userinfo (which the spec leaves unsigned) behind a request signed with a key of its origin
 * that is valid now. /version is served beside the client-server API's /versions (infra/apiRouters.ts).
 */
import type { Accounts } from '../domain/app/accounts/index.ts';
import type { AppserviceQueries } from '../domain/app/appservices/index.ts';
import {
  createFederationQueries, createFederationRoomReads, type FederationQueriesContext, type FederationRooms, type FederationRoomReadsContext,
} from '../domain/app/federation/index.ts';
import type { Rooms } from '../domain/app/rooms/index.ts';
import {
  exchangeThirdPartyInvite, onThirdPartyIdBound, type ThirdPartyInvitesContext,
} from '../domain/app/thirdPartyInvites/index.ts';
import type { KeyRing } from '../domain/ports/index.ts';
import {
  createFederationHierarchyRouter, createFederationOpenIdRouter, createFederationPublicRoomsRouter, createFederationQueryRouter,
  createFederationRoomMembershipRouter, createFederationRoomReadRouter, createFederationThirdPartyInviteRouter, createFederationTransactionRouter,
  createFederationUserKeysRouter, createKeyRouter, federationAuth, originOf,
} from '../gateways/federation/index.ts';
import type { StrataRouter } from '../gateways/http/index.ts';
import { createFederationMediaRouter, type FederationMediaRouterOptions } from '../gateways/media/index.ts';
import type { StrataConfig } from './config/index.ts';
import type { FederationSender } from './federation/sender/index.ts';
import type { ServerSigningKeys } from './server/index.ts';
import { systemClock } from './stores/index.ts';

export interface ServerServerApiOptions {
  readonly config: Pick<StrataConfig, 'serverName' | 'federation'>;
  readonly serverKeys: ServerSigningKeys;
  readonly keyRing: KeyRing;
  /** Told of each server that signs a request to us: it is up. */
  readonly federationSender: Pick<FederationSender, 'wake'>;
  readonly accountStore: FederationQueriesContext['profiles'] & FederationQueriesContext['devices'];
  readonly userDataStores: Pick<FederationQueriesContext, 'keys' | 'crossSigning'>;
  readonly accounts: Pick<Accounts, 'openIdUserInfo'>;
  readonly rooms: Pick<Rooms, 'publicRooms'>;
  readonly directory: FederationQueriesContext['directory'];
  readonly roomQueries: FederationQueriesContext['rooms'] & FederationRoomReadsContext['rooms'];
  readonly roomEvents: FederationRoomReadsContext['graph'];
  readonly relations: FederationRoomReadsContext['relations'];
  readonly serverAcl: FederationRoomReadsContext['acl'];
  readonly bridgeQueries: AppserviceQueries | undefined;
  readonly media: FederationMediaRouterOptions['media'];
  readonly thumbnails: FederationMediaRouterOptions['thumbnails'];
  readonly federationRooms: FederationRooms;
  readonly thirdPartyInvitesContext: ThirdPartyInvitesContext;
}

export const serverServerApiRouters = (options: ServerServerApiOptions): StrataRouter[] => {
  const { config, serverKeys, keyRing, federationSender, accountStore, userDataStores, accounts, rooms, directory, roomQueries, bridgeQueries } = options;
  const verifiedOrigin = federationAuth({
    serverName: config.serverName,
    lookupKey: async (serverName, keyId) => {
      const answer = await keyRing.verifyKey({ serverName, keyId, validAt: systemClock.now() });
      return answer.found ? answer.publicKeyBase64 : undefined;
    },
    ...(config.federation.domainWhitelist === undefined ? {} : {
      originAllowed: (origin: string) => config.federation.domainWhitelist?.includes(origin) === true,
    }),
  });
  // A server that signs a request to us is up: whatever our sender holds for it goes now (Synapse too).
  const signedByOrigin: typeof verifiedOrigin = (ctx, next) => verifiedOrigin(ctx, async () => {
    federationSender.wake(originOf(ctx));
    await next();
  });
  const federationQueries = createFederationQueries({
    serverName: config.serverName, profiles: accountStore, directory, rooms: roomQueries, devices: accountStore,
    keys: userDataStores.keys, crossSigning: userDataStores.crossSigning,
    openIdUserInfo: (token) => accounts.openIdUserInfo(token), publicRooms: (request) => rooms.publicRooms(request),
    ...(bridgeQueries === undefined ? {} : { bridgeQueries }),
  });
  // What other servers read of our rooms (/event, /state, /backfill, …), each behind the room's server ACL.
  const federationRoomReads = createFederationRoomReads({
    serverName: config.serverName, clock: systemClock, rooms: roomQueries, graph: options.roomEvents,
    relations: options.relations, acl: options.serverAcl,
  });
  const { media, thumbnails, federationRooms, thirdPartyInvitesContext } = options;
  return [
    createKeyRouter({ keys: () => serverKeys, keyRing, now: () => systemClock.now() }),
    createFederationQueryRouter({ queries: federationQueries, auth: signedByOrigin }),
    createFederationUserKeysRouter({ queries: federationQueries, auth: signedByOrigin }),
    createFederationMediaRouter({ media, serverName: config.serverName, auth: signedByOrigin, thumbnails }),
    createFederationOpenIdRouter({ queries: federationQueries }),
    createFederationThirdPartyInviteRouter({
      onBind: (body) => onThirdPartyIdBound(thirdPartyInvitesContext, body),
      exchange: (roomId, event) => exchangeThirdPartyInvite(thirdPartyInvitesContext, roomId, event),
      auth: signedByOrigin,
    }),
    createFederationPublicRoomsRouter({ queries: federationQueries, auth: signedByOrigin }),
    createFederationRoomReadRouter({ reads: federationRoomReads, auth: signedByOrigin }),
    createFederationHierarchyRouter({ reads: federationRoomReads, auth: signedByOrigin }),
    createFederationRoomMembershipRouter({ rooms: federationRooms, auth: signedByOrigin }),
    createFederationTransactionRouter({ rooms: federationRooms, auth: signedByOrigin }),
  ];
};
