/**
 * The analytics use-cases: analysts (server admins and configured users, see access.ts) read counts
 * and activity over the metadata view. Without ClickHouse there is no view, and every call answers
 * 501 with a message that says what to set.
 */
import { MatrixError } from '../../errors.ts';
import type { JsonObject } from '../../json.ts';
import type { AnalystAccess } from './access.ts';
import { createAnalyst, type Analyst } from './analyst.ts';
import { parseEventCountsQuery, parseRoomActivityQuery, type QueryParams } from './params.ts';
import type { AnalyticsReadModel } from './readModel.ts';

export const NOT_CONFIGURED_MESSAGE = 'Analytics needs ClickHouse: set STRATA_CLICKHOUSE_URL';

export interface AnalyticsContext {
  /** null when ClickHouse is not configured. */
  readonly readModel: AnalyticsReadModel | null;
  /** Who may read: admins and configured analysts. */
  readonly access: Pick<AnalystAccess, 'requireAnalyst'>;
  /** analytics.export_max_rows (default 10 million). */
  readonly exportMaxRows?: number;
}

export const DEFAULT_EXPORT_MAX_ROWS = 10_000_000;

export interface Analytics extends Analyst {
  eventCounts(requesterUserId: string, params: QueryParams): Promise<JsonObject>;
  roomActivity(requesterUserId: string, roomId: string, params: QueryParams): Promise<JsonObject>;
}

const readModelOf = (ctx: AnalyticsContext): AnalyticsReadModel => {
  if (ctx.readModel === null) throw new MatrixError('M_UNKNOWN', 501, NOT_CONFIGURED_MESSAGE);
  return ctx.readModel;
};

export const createAnalytics = (ctx: AnalyticsContext): Analytics => ({
  ...createAnalyst({
    readModel: ctx.readModel, access: ctx.access, exportMaxRows: ctx.exportMaxRows ?? DEFAULT_EXPORT_MAX_ROWS,
    notConfiguredMessage: NOT_CONFIGURED_MESSAGE,
  }),
  eventCounts: async (requesterUserId, params) => {
    // Analysts first: others learn nothing, not even whether analytics are configured.
    await ctx.access.requireAnalyst(requesterUserId);
    const readModel = readModelOf(ctx);
    const query = parseEventCountsQuery(params);
    const rows = await readModel.eventCounts(query);
    return {
      group_by: query.groupBy,
      status: query.status,
      from: query.from,
      to: query.to,
      ...(query.roomId === undefined ? {} : { room_id: query.roomId }),
      ...(query.type === undefined ? {} : { type: query.type }),
      rows: rows.map((row) => ({ key: row.key, count: row.count, redacted: row.redacted })),
    };
  },
  roomActivity: async (requesterUserId, roomId, params) => {
    await ctx.access.requireAnalyst(requesterUserId);
    const readModel = readModelOf(ctx);
    const query = parseRoomActivityQuery(roomId, params);
    const rows = await readModel.roomActivity(query);
    return {
      room_id: query.roomId,
      bucket: query.bucket,
      from: query.from,
      to: query.to,
      rows: rows.map((row) => ({
        ts: row.ts, events: row.events, state_events: row.stateEvents, senders: row.senders,
        soft_failed: row.softFailed, rejected: row.rejected, redacted: row.redacted,
      })),
    };
  },
});
