/**
 * Inbound federation queries (server-server-api.md): what other servers ask about our users,
 * aliases and rooms. Bound to their dependencies once in the composition root.
 */
import type { JsonObject } from '../../json.ts';
import type { PublicRoomsRequest } from '../rooms/directory.ts';
import type { FederationQueriesContext } from './context.ts';
import { claimUserKeys, queryUserKeys, userDevices } from './keys.ts';
import { openIdUserInfo, queryDirectory, queryProfile } from './queries.ts';

export type { FederationQueriesContext } from './context.ts';

export interface FederationQueries {
  readonly serverName: string;
  queryProfile(userId: string, field: string | undefined): Promise<JsonObject>;
  queryDirectory(alias: string): Promise<JsonObject>;
  userDevices(userId: string): Promise<JsonObject>;
  queryUserKeys(body: JsonObject): Promise<JsonObject>;
  claimUserKeys(body: JsonObject): Promise<JsonObject>;
  openIdUserInfo(token: string): Promise<{ sub: string }>;
  /** Our public room directory; `server` is never set (a server lists only its own rooms). */
  publicRooms(request: Omit<PublicRoomsRequest, 'server'>): Promise<JsonObject>;
}

export const createFederationQueries = (ctx: FederationQueriesContext): FederationQueries => ({
  serverName: ctx.serverName,
  queryProfile: (userId, field) => queryProfile(ctx, userId, field),
  queryDirectory: (alias) => queryDirectory(ctx, alias),
  userDevices: (userId) => userDevices(ctx, userId),
  queryUserKeys: (body) => queryUserKeys(ctx, body),
  claimUserKeys: (body) => claimUserKeys(ctx, body),
  openIdUserInfo: (token) => openIdUserInfo(ctx, token),
  publicRooms: (request) => ctx.publicRooms(request),
});
export { createServerAclGuard, type ServerAclGuard } from './serverAcl.ts';
export {
  createFederationRoomReads, MAX_BACKFILL_LIMIT, MAX_MISSING_EVENTS_LIMIT, type FederationRoomReads, type FederationRoomReadsContext,
} from './roomReads.ts';
export { createBackfill, createFederationRooms, MAX_TRANSACTION_EDUS, MAX_TRANSACTION_PDUS, type EduSink, type FederationRooms, type FederationRoomsContext } from './rooms/index.ts';
