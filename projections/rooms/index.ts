/** The rooms read model: its projection, its queries, and the directory tables beside it. */
export { roomsProjection, ROOMS_PROJECTION_NAME } from './projection.ts';
export { ROOMS_SCHEMA, ROOMS_TABLES } from './schema.ts';
export { createRoomQueries } from './queries.ts';
export { createRecentEvents, type RecentEvents } from './recentEvents.ts';
export { createSqlRoomDirectory, ensureRoomDirectorySchema, ROOM_DIRECTORY_SCHEMA } from './directory.ts';
export { createSqlRoomMembership, createSyncQueries, ensureSyncIndexes, SYNC_INDEXES } from './syncQueries.ts';
export { createNotificationQueries } from './unreadQueries.ts';
export { createRelationQueries, ensureRelationIndexes, RELATION_INDEXES } from './relationQueries.ts';
export { createSqlUserDirectory } from './userDirectory.ts';
export { createSlidingRoomQueries } from './slidingQueries.ts';
export { createSqlContentReports, ensureContentReportsSchema, CONTENT_REPORTS_SCHEMA } from './contentReports.ts';
export { redactedPduSql } from './redactionSql.ts';
export { createSqlRoomServers } from './federationMembership.ts';
export { createRoomEventGraph, stateKeysAt } from './eventGraph.ts';
export { createBackfillQueries } from './backfillQueries.ts';
export { EVENT_COLUMNS, hydrate, type EventRow } from './rows.ts';
