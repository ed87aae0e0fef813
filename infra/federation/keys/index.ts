// Remote server keys (the KeyRing adapter).
export { createRemoteKeyRing, ensureRemoteServerKeysSchema, type FetchFederationJson, type NotaryServer, type RemoteKeyRingOptions } from './remoteKeyRing.ts';
export { fetchThroughClient } from './fetchThroughClient.ts';
