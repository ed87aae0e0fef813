// Interfaces the inner layers need from the outside; infra/ implements them.
export type * from './log.ts';
export { delegatingLog } from './delegatingLog.ts';
export type * from './sql.ts';
export type * from './accounts.ts';
export type * from './rooms.ts';
export type * from './userData.ts';
export type * from './contentKeys.ts';
export type * from './keyRing.ts';
export type * from './remoteServers.ts';
export type * from './federationOutbox.ts';
export type * from './roomEvents.ts';
export type * from './remoteRooms.ts';
export type * from './backfill.ts';
export type * from './threePids.ts';
export type * from './urlPreview.ts';
export { IdentityServerError } from './threePids.ts';
export type * from './thumbnails.ts';
export { ThumbnailError } from './thumbnails.ts';
