// Federation HTTP surfaces (server-server API).
export { createKeyRouter, MAX_QUERIED_KEY_IDS, MAX_QUERIED_SERVERS, type KeyRoutesOptions } from './keyRoutes.ts';
export { federationAuth, originOf, DEFAULT_FEDERATION_MAX_BODY_BYTES, type FederationAuthOptions, type FederationRequestState } from './auth.ts';
export { federationVersionRouter, type FederationVersionOptions } from './versionRoutes.ts';
export { signedContent } from './auth.ts';
export { createFederationQueryRouter, type FederationQueryRoutesOptions } from './queryRoutes.ts';
export { createFederationUserKeysRouter, type FederationUserKeysRoutesOptions } from './userKeysRoutes.ts';
export { createFederationOpenIdRouter, type FederationOpenIdRoutesOptions } from './openIdRoutes.ts';
export { createFederationPublicRoomsRouter, type FederationPublicRoomsRoutesOptions } from './publicRoomsRoutes.ts';
export { createFederationRoomReadRouter, type FederationRoomReadRoutesOptions } from './roomReadRoutes.ts';
export { createFederationHierarchyRouter, type FederationHierarchyRoutesOptions } from './hierarchyRoutes.ts';
export { createFederationRoomMembershipRouter, type FederationRoomMembershipRoutesOptions } from './roomMembershipRoutes.ts';
export { createFederationTransactionRouter, type FederationTransactionRoutesOptions } from './transactionRoutes.ts';
export { createFederationThirdPartyInviteRouter, type FederationThirdPartyInviteRoutesOptions } from './thirdPartyInviteRoutes.ts';
