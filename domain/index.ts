// The domain's public surface, for code outside domain/ (gateways, projections, infra, tests).
export * from './json.ts';
export * from './boundedMap.ts';
export * from './concurrency/index.ts';
export * from './errors.ts';
export * from './canonicalJson.ts';
export * from './base64.ts';
export * from './ids/index.ts';
export * from './limits.ts';
export * from './roomVersions/index.ts';
export * from './events/index.ts';
export * from './auth/index.ts';
export * from './stateRes/index.ts';
export * from './room/index.ts';
export type * from './ports/index.ts';
export * from './push/index.ts';
export * from './federation/index.ts';
export * from './appservices/index.ts';
