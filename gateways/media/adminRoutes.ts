/**
 * Synapse's media admin API (docs/admin_api/media_admin_api.md, user_admin_api.md § List media
 * uploaded by a user): same paths, parameters and answers, so its tooling works unchanged.
 */
import type { Router } from '@koa/router';
import { MatrixError } from '../../domain/index.ts';
import type { MediaAdmin } from '../../domain/app/media/index.ts';
import type { MediaListQuery, MediaRecord } from '../../domain/ports/index.ts';
import { requesterOf } from '../client/accounts/index.ts';
import type { RequestState, StrataContext, StrataMiddleware } from '../http/index.ts';

const ADMIN = '/_synapse/admin/v1';
const ORDER_BY: readonly MediaListQuery['orderBy'][] = ['media_id', 'upload_name', 'created_ts', 'last_access_ts', 'media_length', 'media_type', 'quarantined_by'];
const MAX_LIST_LIMIT = 1000;

const queryString = (ctx: StrataContext, name: string): string | undefined => {
  const value = ctx.query[name];
  if (Array.isArray(value)) throw new MatrixError('M_INVALID_PARAM', 400, `Query parameter '${name}' must be given once`);
  return value;
};

const nonNegativeInteger = (ctx: StrataContext, name: string, fallback: number): number => {
  const value = queryString(ctx, name);
  if (value === undefined) return fallback;
  if (!/^\d{1,15}$/.test(value)) throw new MatrixError('M_INVALID_PARAM', 400, `Query parameter ${name} must be a non-negative integer.`);
  return Number(value);
};

const listEntry = (record: MediaRecord) => ({
  media_id: record.mediaId,
  media_type: record.content?.contentType ?? null,
  media_length: record.content?.size ?? null,
  upload_name: record.content?.uploadName ?? null,
  created_ts: record.createdTs,
  last_access_ts: record.lastAccessTs ?? null,
  quarantined_by: record.quarantinedBy ?? null,
  safe_from_quarantine: false,
});

export const addMediaAdminRoutes = (router: Router<RequestState>, admin: MediaAdmin, auth: StrataMiddleware, serverName: string): void => {
  const quarantine = (quarantined: boolean) => async (ctx: StrataContext & { params: Record<string, string | undefined> }) => {
    await admin.quarantine(requesterOf(ctx).userId, ctx.params.serverName!, ctx.params.mediaId!, quarantined);
    ctx.body = {};
  };
  router.post(`${ADMIN}/media/quarantine/:serverName/:mediaId`, auth, quarantine(true));
  router.post(`${ADMIN}/media/unquarantine/:serverName/:mediaId`, auth, quarantine(false));

  router.delete(`${ADMIN}/media/:serverName/:mediaId`, auth, async (ctx) => {
    await admin.delete(requesterOf(ctx).userId, ctx.params.serverName!, ctx.params.mediaId!);
    ctx.body = { deleted_media: [ctx.params.mediaId], total: 1 };
  });

  /** The user and the page a user-media request names (Synapse's `from`, `limit`, `order_by`, `dir`). */
  const userMediaQuery = (ctx: StrataContext & { params: Record<string, string | undefined> }): { userId: string; query: MediaListQuery } => {
    const userId = ctx.params.userId!;
    if (!userId.endsWith(`:${serverName}`)) throw new MatrixError('M_INVALID_PARAM', 400, 'Can only look up local users');
    const from = nonNegativeInteger(ctx, 'from', 0);
    const limit = nonNegativeInteger(ctx, 'limit', 100);
    if (limit > MAX_LIST_LIMIT) throw new MatrixError('M_INVALID_PARAM', 400, `Query parameter limit must be at most ${MAX_LIST_LIMIT}.`);
    const orderBy = queryString(ctx, 'order_by') ?? 'created_ts';
    if (!(ORDER_BY as readonly string[]).includes(orderBy)) throw new MatrixError('M_INVALID_PARAM', 400, 'Unknown value for order_by');
    const direction = queryString(ctx, 'dir') ?? 'f';
    if (direction !== 'f' && direction !== 'b') throw new MatrixError('M_INVALID_PARAM', 400, "Query parameter dir must be 'f' or 'b'");
    return { userId, query: { from, limit, orderBy: orderBy as MediaListQuery['orderBy'], direction } };
  };

  router.delete(`${ADMIN}/users/:userId/media`, auth, async (ctx) => {
    const { userId, query } = userMediaQuery(ctx);
    const deleted = await admin.deleteUserMedia(requesterOf(ctx).userId, userId, query);
    ctx.body = { deleted_media: deleted, total: deleted.length };
  });

  router.get(`${ADMIN}/users/:userId/media`, auth, async (ctx) => {
    const { userId, query } = userMediaQuery(ctx);
    const { from } = query;
    const page = await admin.listUserMedia(requesterOf(ctx).userId, userId, query);
    ctx.body = {
      media: page.media.map(listEntry),
      total: page.total,
      ...(from + page.media.length < page.total ? { next_token: from + page.media.length } : {}),
    };
  });

  router.post(`${ADMIN}/purge_media_cache`, auth, async (ctx) => {
    const raw = queryString(ctx, 'before_ts');
    if (raw === undefined) throw new MatrixError('M_MISSING_PARAM', 400, "Missing integer query parameter 'before_ts'");
    const beforeTs = nonNegativeInteger(ctx, 'before_ts', 0);
    // Synapse's guard against seconds given for milliseconds.
    if (beforeTs < 30_000_000_000) {
      throw new MatrixError('M_INVALID_PARAM', 400, 'Query parameter before_ts you provided is from the year 1970. Double check that you are providing a timestamp in milliseconds.');
    }
    ctx.body = { deleted: await admin.purgeRemoteCache(requesterOf(ctx).userId, beforeTs) };
  });
};
