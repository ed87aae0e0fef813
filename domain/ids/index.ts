export * from './result.ts';
export * from './limits.ts';
export * from './serverName.ts';
export * from './userId.ts';
export * from './roomId.ts';
export * from './eventId.ts';
export * from './roomAlias.ts';
