/**
 * `GET /_matrix/client/v3/sync` (and r0): parses the query (sync.yaml) and long-polls through the
 * sync use-case; a client that disconnects aborts its wait. `GET /keys/changes` (keys.yaml) too:
 * its `from` / `to` are sync tokens; and the deprecated `GET /initialSync` (initialSync.ts).
 */
import { Router } from '@koa/router';
import { MatrixError } from '../../../domain/index.ts';
import type { Accounts } from '../../../domain/app/accounts/index.ts';
import type { LegacySync, SyncRequest, SyncService } from '../../../domain/app/sync/index.ts';
import type { RequestState, StrataContext, StrataRouter } from '../../http/index.ts';
import { allowGuests, clientPaths, requesterOf, requireAccessToken } from '../accounts/index.ts';
import { addInitialSyncRoute } from './initialSync.ts';

export interface SyncRouterOptions {
  readonly sync: SyncService;
  readonly accounts: Pick<Accounts, 'authenticate'>;
  /** The deprecated GET /initialSync; absent: the route is not served. */
  readonly legacySync?: LegacySync;
}

const queryString = (ctx: StrataContext, name: string): string | undefined => {
  const value = ctx.query[name];
  return Array.isArray(value) ? value[value.length - 1] : value;
};

/** sync.yaml `full_state` and `use_state_after`: booleans; clients send `true` / `false`. */
const booleanParam = (text: string | undefined, name: string): boolean | undefined => {
  if (text === undefined) return undefined;
  if (text === 'true') return true;
  if (text === 'false') return false;
  throw new MatrixError('M_INVALID_PARAM', 400, `'${name}' must be true or false`);
};

export const parseSyncQuery = (ctx: StrataContext): SyncRequest => {
  const since = queryString(ctx, 'since');
  const filter = queryString(ctx, 'filter');
  const fullState = booleanParam(queryString(ctx, 'full_state'), 'full_state');
  const useStateAfter = booleanParam(queryString(ctx, 'use_state_after'), 'use_state_after');
  const setPresence = queryString(ctx, 'set_presence');
  const timeoutText = queryString(ctx, 'timeout');
  let timeoutMs: number | undefined;
  if (timeoutText !== undefined) {
    timeoutMs = Number(timeoutText);
    if (!/^\d{1,15}$/.test(timeoutText)) throw new MatrixError('M_INVALID_PARAM', 400, "'timeout' must be a non-negative integer");
  }
  return {
    ...(since === undefined || since === '' ? {} : { since }),
    ...(filter === undefined ? {} : { filter }),
    ...(fullState === undefined ? {} : { fullState }),
    ...(setPresence === undefined ? {} : { setPresence }),
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
    ...(useStateAfter === undefined ? {} : { useStateAfter }),
  };
};

export const createSyncRouter = (options: SyncRouterOptions): StrataRouter => {
  const router = new Router<RequestState>();
  const auth = requireAccessToken(options.accounts);
  for (const path of clientPaths('/sync')) {
    router.get(path, allowGuests, auth, async (ctx) => {
      const request = parseSyncQuery(ctx);
      const requester = requesterOf(ctx);
      const aborted = new AbortController();
      // The response closes before it is written only when the client went away.
      const onClose = (): void => aborted.abort();
      ctx.res.once('close', onClose);
      try {
        ctx.body = await options.sync.sync({ userId: requester.userId, deviceId: requester.deviceId }, request, aborted.signal);
      } finally {
        ctx.res.off('close', onClose);
      }
    });
  }
  for (const path of clientPaths('/keys/changes')) {
    router.get(path, allowGuests, auth, async (ctx) => {
      const requester = requesterOf(ctx);
      ctx.body = await options.sync.keyChanges(
        { userId: requester.userId, deviceId: requester.deviceId }, queryString(ctx, 'from'), queryString(ctx, 'to'));
    });
  }
  if (options.legacySync !== undefined) addInitialSyncRoute(router, options.legacySync, auth);
  return router;
};
