export { versionsRouter } from './versions.ts';
export type { VersionsOptions } from './versions.ts';
export { consentRouter, type ConsentOptions } from './consent.ts';
