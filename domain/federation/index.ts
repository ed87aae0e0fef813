// Federation's pure pieces (server-server API).
export * from './xMatrix.ts';
export * from './discovery.ts';
export * from './addresses.ts';
