/** Identity servers (identity_service_api), reached over HTTPS. */
export { createIdentityServers, parseIdServer, type IdentityServersOptions } from './identityServers.ts';
