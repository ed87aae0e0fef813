/**
 * One place that turns failures into Matrix error responses (client-server-api § Standard error
 * response): MatrixError → its status and `{ errcode, error, ...extra }`; anything else → 500
 * M_UNKNOWN with a body that reveals nothing, the error and its stack going to the log instead.
 */
import { MatrixError, isMatrixError } from '../../domain/index.ts';
import type { StrataContext, StrataMiddleware, StrataRouter } from './context.ts';

interface HttpishError {
  status?: unknown;
  expose?: unknown;
  message: string;
}

/** Client errors raised by Koa itself (e.g. a malformed URL) carry `status` and `expose`. */
const isExposedClientError = (error: unknown): error is HttpishError & { status: number } => {
  if (!(error instanceof Error)) return false;
  const { status, expose } = error as HttpishError;
  return typeof status === 'number' && status >= 400 && status < 500 && expose === true;
};

/** Renders what the rest of the chain threw (the outermost middleware calls it for every error). */
export const renderError = (ctx: StrataContext, error: unknown): void => {
  if (ctx.headerSent) {
    ctx.state.log.error({ err: error }, 'error after the response started');
    return;
  }
  let matrixError: MatrixError;
  if (isMatrixError(error)) {
    matrixError = error;
    const level = error.status >= 500 ? 'error' : 'debug';
    ctx.state.log[level]({ errcode: error.errcode, status: error.status, error: error.message }, 'matrix error');
  } else if (isExposedClientError(error)) {
    matrixError = new MatrixError('M_UNKNOWN', error.status, error.message);
  } else {
    ctx.state.log.error({ err: error }, 'unhandled error');
    matrixError = new MatrixError('M_UNKNOWN', 500, 'Internal server error');
  }
  ctx.status = matrixError.status;
  ctx.body = { ...matrixError.extra, errcode: matrixError.errcode, error: matrixError.message };
};

/**
 * Last in the chain: nothing handled the request. M_UNRECOGNIZED "is expected to be returned with a
 * 404 HTTP status code if the endpoint is not implemented or a 405 HTTP status code if the endpoint
 * is implemented, but the incorrect HTTP method is used".
 */
export const unrecognized = (routers: readonly StrataRouter[]): StrataMiddleware => async (ctx) => {
  const allowed = new Set(routers.flatMap((router) =>
    router.match(ctx.path, ctx.method).path.flatMap((layer) => layer.methods)));
  if (allowed.size > 0) {
    ctx.set('Allow', [...allowed, 'OPTIONS'].join(', '));
    throw new MatrixError('M_UNRECOGNIZED', 405, 'Unrecognized request');
  }
  throw new MatrixError('M_UNRECOGNIZED', 404, 'Unrecognized request');
};
