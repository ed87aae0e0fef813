/**
 * `POST /_matrix/client/v1/appservice/{appserviceId}/ping` (appservice_ping.yaml): only with that
 * bridge's as_token; the homeserver calls the bridge's `/_matrix/app/v1/ping` and answers how long it took.
 */
import { MatrixError } from '../../../domain/index.ts';
import type { Appservices } from '../../../domain/app/appservices/index.ts';
import { readJsonBody, type StrataMiddleware, type StrataRouter } from '../../http/index.ts';
import { requesterOf } from './auth.ts';
import { MAX_BODY_BYTES } from './paths.ts';

export const addAppserviceRoutes = (router: StrataRouter, auth: StrataMiddleware, appservices: Pick<Appservices, 'ping'>): void => {
  router.post('/_matrix/client/v1/appservice/:appserviceId/ping', auth, async (ctx) => {
    const body = await readJsonBody(ctx, { maxBytes: MAX_BODY_BYTES });
    const transactionId = body.transaction_id;
    if (transactionId !== undefined && transactionId !== null && typeof transactionId !== 'string') {
      throw new MatrixError('M_INVALID_PARAM', 400, "'transaction_id' must be a string");
    }
    ctx.body = await appservices.ping(requesterOf(ctx).appservice, ctx.params.appserviceId as string, transactionId ?? undefined);
  });
};
