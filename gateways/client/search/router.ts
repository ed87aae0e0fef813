/** `POST /_matrix/client/v3/search` (search.yaml): the body goes to the search use-case as it came. */
import { Router } from '@koa/router';
import type { Accounts } from '../../../domain/app/accounts/index.ts';
import type { SearchService } from '../../../domain/app/search/index.ts';
import { readJsonBody, type RequestState, type StrataRouter } from '../../http/index.ts';
import { clientPaths, requesterOf, requireAccessToken } from '../accounts/index.ts';

export interface SearchRouterOptions {
  readonly search: SearchService;
  readonly accounts: Pick<Accounts, 'authenticate'>;
}

/** A search request is small: a term, a filter and a few options. */
const MAX_SEARCH_BODY_BYTES = 65_536;

export const createSearchRouter = (options: SearchRouterOptions): StrataRouter => {
  const router = new Router<RequestState>();
  const auth = requireAccessToken(options.accounts);
  for (const path of clientPaths('/search')) {
    router.post(path, auth, async (ctx) => {
      const body = await readJsonBody(ctx, { maxBytes: MAX_SEARCH_BODY_BYTES });
      const nextBatch = ctx.query.next_batch;
      const requester = requesterOf(ctx);
      ctx.body = await options.search.search(
        { userId: requester.userId, deviceId: requester.deviceId }, body, Array.isArray(nextBatch) ? nextBatch[nextBatch.length - 1] : nextBatch);
    });
  }
  return router;
};
