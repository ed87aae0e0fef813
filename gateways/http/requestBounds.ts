/**
 * Bounds every request meets whatever route it reaches, so no handler has to remember them:
 * - the path: each segment, percent-decoded, is valid UTF-8 and at most LIMITS.pathSegmentBytes
 *   (every identifier a Matrix path carries is bounded so; see domain/limits.ts);
 * - the body: once the handler is done, a body it did not read is drained (up to a small bound)
 *   or the connection is closed after the response. An unread body left on a keep-alive
 *   connection would otherwise be read as the start of the next request.
 */
import { LIMITS, MatrixError, utf8Length } from '../../domain/index.ts';
import type { StrataContext } from './context.ts';

const NEEDS_DECODING = /[%\u0080-\uffff]/;

/**
 * Where the spec names its own error for an over-long last path segment: profile.yaml, a custom
 * profile key over 255 bytes is M_KEY_TOO_LARGE.
 */
const LAST_SEGMENT_ERRCODES: readonly { readonly path: RegExp; readonly errcode: string }[] = [
  { path: /^\/_matrix\/client\/[^/]+\/profile\/[^/]+\/[^/]+$/, errcode: 'M_KEY_TOO_LARGE' },
];

/** Refuses a path with a segment that is not UTF-8 once decoded, or is longer than the bound. */
export const checkPathSegments = (path: string): void => {
  let start = 1;
  while (start <= path.length) {
    let end = path.indexOf('/', start);
    if (end < 0) end = path.length;
    const segment = path.slice(start, end);
    // A plain ASCII segment no longer than the bound is as many bytes as characters: nothing to decode.
    if ((segment.length > LIMITS.pathSegmentBytes || NEEDS_DECODING.test(segment)) && !segmentFits(segment)) {
      const specific = end === path.length ? LAST_SEGMENT_ERRCODES.find((entry) => entry.path.test(path)) : undefined;
      throw new MatrixError(specific?.errcode ?? 'M_INVALID_PARAM', 400, `A request path segment is longer than ${LIMITS.pathSegmentBytes} bytes`);
    }
    start = end + 1;
  }
};

/** Whether a raw segment decodes (as UTF-8) to at most the bound; M_INVALID_PARAM when it does not decode. */
const segmentFits = (raw: string): boolean => {
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    throw new MatrixError('M_INVALID_PARAM', 400, 'A request path segment is not valid percent-encoded UTF-8');
  }
  return utf8Length(decoded) <= LIMITS.pathSegmentBytes;
};

/** An unread body up to this size is read and discarded, keeping the connection; a larger one closes it. */
export const DRAIN_MAX_BYTES = 64 * 1024;
/** How long draining waits for the next chunk before giving up on the connection. */
const DRAIN_IDLE_MS = 5_000;

/**
 * Settles a request body nobody read. Called after the handler (and any error rendering), before
 * the response is written, so the answer goes out on a connection whose next bytes are the next
 * request, or with `Connection: close`.
 */
export const settleUnreadBody = (ctx: StrataContext): Promise<void> | undefined => {
  const req = ctx.req;
  // Nearly every request: no body, or one the handler read. Nothing to wait for, no promise made.
  if (req.complete || req.destroyed) return undefined;
  // The body was refused part-way (readJsonBody's size limit): the connection is closing anyway.
  if (/close/i.test(String(ctx.response.get('Connection')))) return undefined;
  const declared = ctx.request.length;
  if (declared !== undefined && declared > DRAIN_MAX_BYTES) {
    closeAfterResponse(ctx);
    return undefined;
  }
  return drain(req, DRAIN_MAX_BYTES, DRAIN_IDLE_MS).then((ended) => {
    if (!ended) closeAfterResponse(ctx);
  });
};

/**
 * Answers with `Connection: close`: Node then ends the connection once the response is written, so
 * whatever the client still sends of the body is never parsed as a request.
 */
export const closeAfterResponse = (ctx: StrataContext): void => {
  ctx.set('Connection', 'close');
};

/** Reads and discards the rest of a body; true once it ended within the bounds. */
const drain = (req: StrataContext['req'], maxBytes: number, idleMs: number): Promise<boolean> =>
  new Promise((resolve) => {
    let size = 0;
    let timer: NodeJS.Timeout | undefined;
    const finish = (ended: boolean) => {
      clearTimeout(timer);
      req.off('data', onData).off('end', onEnd).off('error', onFail).off('close', onClose);
      if (!ended) req.pause();
      resolve(ended);
    };
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => finish(false), idleMs);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) finish(false);
      else arm();
    };
    const onEnd = () => finish(true);
    const onFail = () => finish(false);
    const onClose = () => {
      if (!req.complete) finish(false);
    };
    req.on('data', onData).on('end', onEnd).on('error', onFail).on('close', onClose);
    arm();
    req.resume();
  });
