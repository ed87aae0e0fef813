// Federation HTTP surfaces (server-server API).
export { federationAuth, originOf, DEFAULT_FEDERATION_MAX_BODY_BYTES, type FederationAuthOptions, type FederationRequestState } from './auth.ts';
export { federationVersionRouter, type FederationVersionOptions } from './versionRoutes.ts';
