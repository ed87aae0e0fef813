/**
 * `GET /_matrix/client/v1/media/preview_url` (authed-content-repo.yaml) and the deprecated
 * `/_matrix/media/{v3,r0}/preview_url` (content-repo.yaml), which Synapse keeps serving with its
 * authenticated media on; both need an access token. Registered only when previews are enabled, so
 * a server without them answers 404 M_UNRECOGNIZED as Synapse does.
 */
import { Router } from '@koa/router';
import { MatrixError } from '../../../../domain/index.ts';
import type { Accounts } from '../../../../domain/app/accounts/index.ts';
import type { UrlPreviews } from '../../../../domain/app/media/urlPreview/index.ts';
import type { RequestState, StrataContext, StrataRouter } from '../../../http/index.ts';
import { requesterOf, requireAccessToken } from '../../accounts/index.ts';

export interface PreviewUrlRouterOptions {
  readonly previews: UrlPreviews;
  readonly accounts: Pick<Accounts, 'authenticate'>;
}

export const PREVIEW_URL_PATHS = ['/_matrix/client/v1/media/preview_url', '/_matrix/media/v3/preview_url', '/_matrix/media/r0/preview_url'] as const;

const lastQueryValue = (ctx: StrataContext, name: string): string | undefined => {
  const value = ctx.query[name];
  return Array.isArray(value) ? value[value.length - 1] : value;
};

/** The `url` and `ts` parameters: a missing url is M_MISSING_PARAM, a ts that is no integer M_INVALID_PARAM (Synapse). */
export const parsePreviewQuery = (ctx: StrataContext): { url: string; ts?: number } => {
  const url = lastQueryValue(ctx, 'url');
  if (url === undefined || url === '') throw new MatrixError('M_MISSING_PARAM', 400, "Missing string query parameter 'url'");
  const tsText = lastQueryValue(ctx, 'ts');
  if (tsText === undefined || tsText === '') return { url };
  if (!/^-?[0-9]{1,16}$/.test(tsText) || !Number.isSafeInteger(Number(tsText))) {
    throw new MatrixError('M_INVALID_PARAM', 400, "Query parameter 'ts' must be an integer");
  }
  return { url, ts: Number(tsText) };
};

export const createPreviewUrlRouter = (options: PreviewUrlRouterOptions): StrataRouter => {
  const router = new Router<RequestState>();
  const auth = requireAccessToken(options.accounts);
  for (const path of PREVIEW_URL_PATHS) {
    router.get(path, auth, async (ctx) => {
      const query = parsePreviewQuery(ctx);
      ctx.body = await options.previews.preview({ userId: requesterOf(ctx).userId, ...query });
    });
  }
  return router;
};
