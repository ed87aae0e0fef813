// Federation's pure pieces (server-server API).
export * from './keys.ts';
export * from './xMatrix.ts';
export * from './discovery.ts';
export * from './addresses.ts';
export * from './serverAcl.ts';
