/**
 * Simplified sliding sync (MSC4186) over HTTP: `POST /_matrix/client/unstable/org.matrix.simplified_msc3575/sync`
 * (`pos`, `timeout`, `set_presence` in the query, as clients send it today) and `POST /_matrix/client/v4/sync`
 * (the merged form, everything in the body), both through one use-case. A client that disconnects
 * aborts its long-poll.
 */
import { Router } from '@koa/router';
import type { Accounts } from '../../../domain/app/accounts/index.ts';
import { parseSlidingSyncRequest, renderSlidingSync, type SlidingSyncForm, type SlidingSyncService } from '../../../domain/app/sync/sliding/index.ts';
import { readJsonBody, type RequestState, type StrataContext, type StrataRouter } from '../../http/index.ts';
import { allowGuests, requesterOf, requireAccessToken } from '../accounts/index.ts';

export interface SlidingSyncRouterOptions {
  readonly slidingSync: SlidingSyncService;
  readonly accounts: Pick<Accounts, 'authenticate'>;
}

/** Lists, subscriptions and extensions of a request: 500 subscriptions of a few hundred bytes fit. */
const MAX_BODY_BYTES = 512 * 1024;

const PATHS: readonly (readonly [string, SlidingSyncForm])[] = [
  ['/_matrix/client/unstable/org.matrix.simplified_msc3575/sync', 'unstable'],
  ['/_matrix/client/v4/sync', 'v4'],
];

const queryString = (ctx: StrataContext, name: string): string | undefined => {
  const value = ctx.query[name];
  return Array.isArray(value) ? value[value.length - 1] : value;
};

export const createSlidingSyncRouter = (options: SlidingSyncRouterOptions): StrataRouter => {
  const router = new Router<RequestState>();
  const auth = requireAccessToken(options.accounts);
  for (const [path, form] of PATHS) {
    router.post(path, allowGuests, auth, async (ctx) => {
      const body = await readJsonBody(ctx, { maxBytes: MAX_BODY_BYTES, allowEmpty: true });
      const requester = requesterOf(ctx);
      const pos = queryString(ctx, 'pos');
      const timeout = queryString(ctx, 'timeout');
      const setPresence = queryString(ctx, 'set_presence');
      const request = parseSlidingSyncRequest(form, body, {
        ...(pos === undefined ? {} : { pos }), ...(timeout === undefined ? {} : { timeout }),
        ...(setPresence === undefined ? {} : { setPresence }),
      }, requester.userId);
      const aborted = new AbortController();
      // The response closes before it is written only when the client went away.
      const onClose = (): void => aborted.abort();
      ctx.res.once('close', onClose);
      try {
        const answer = await options.slidingSync.slidingSync({ userId: requester.userId, deviceId: requester.deviceId }, request, aborted.signal);
        ctx.body = renderSlidingSync(form, answer);
      } finally {
        ctx.res.off('close', onClose);
      }
    });
  }
  return router;
};
