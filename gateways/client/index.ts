export { versionsRouter } from './versions.ts';
export type { VersionsOptions } from './versions.ts';
