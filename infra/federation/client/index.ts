export { createFederationClient, FederationHttpError } from './client.ts';
export type { FederationBytes, FederationClient, FederationClientOptions, FederationRequestOptions } from './client.ts';
export { FederationClientError } from './https.ts';
export type { AddressLookup, FederationFailureKind } from './https.ts';
export { exchange } from './https.ts';
export { parseJsonBytes } from './json.ts';
export { systemAddressLookup } from './discovery.ts';
