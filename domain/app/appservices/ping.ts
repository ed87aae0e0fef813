/**
 * `POST /_matrix/client/v1/appservice/{appserviceId}/ping` (appservice_ping.yaml, since v1.7): a
 * bridge asks the homeserver to call its `POST /_matrix/app/v1/ping`, to learn whether the
 * homeserver reaches it. The errors are the spec's, with Synapse's messages and its `status` and
 * `body` for an error answer.
 */
import type { AppserviceRegistration } from '../../appservices/index.ts';
import { MatrixError } from '../../errors.ts';
import { AppserviceRequestError, type AppserviceFailure } from '../../ports/appservices.ts';
import type { AppservicesContext } from './context.ts';

const failureError = (failure: AppserviceFailure): MatrixError => {
  if (failure.kind === 'status') {
    return new MatrixError('M_BAD_STATUS', 502, `Ping returned status ${failure.status}`, { status: failure.status, body: failure.body });
  }
  if (failure.timedOut) return new MatrixError('M_CONNECTION_TIMEOUT', 504, `Connection to application service timed out: ${failure.detail}`);
  return new MatrixError('M_CONNECTION_FAILED', 502, `Connection to application service failed: ${failure.detail}`);
};

/** `caller`: the bridge whose as_token authenticated the request, undefined for anyone else. */
export const pingAppservice = async (
  ctx: AppservicesContext, caller: AppserviceRegistration | undefined, appserviceId: string, transactionId: string | undefined,
): Promise<{ duration_ms: number }> => {
  if (caller === undefined) throw new MatrixError('M_FORBIDDEN', 403, 'Only application services can use the /appservice/ping endpoint');
  if (caller.id !== appserviceId) throw new MatrixError('M_FORBIDDEN', 403, 'Mismatching application service ID in path');
  if (caller.url === null) throw new MatrixError('M_URL_NOT_SET', 400, 'The application service does not have a URL set');
  const start = ctx.clock.now();
  try {
    await ctx.client.ping(caller, transactionId);
  } catch (error) {
    if (error instanceof AppserviceRequestError) throw failureError(error.failure);
    throw error;
  }
  // It answered: if transactions to it were resting after failures, they are sent now (as Synapse does).
  ctx.onReachable?.(caller.id);
  return { duration_ms: Math.max(0, Math.floor(ctx.clock.now() - start)) };
};
