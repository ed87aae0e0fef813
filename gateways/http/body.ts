/**
 * Reads a request body as JSON for the routes that take one. Malformed JSON → 400 M_NOT_JSON; valid
 * JSON that is not the object a route requires → 400 M_BAD_JSON (client-server-api § Common error
 * codes: "well-formed JSON, but malformed", as Synapse answers); a body over the limit → 413 M_TOO_LARGE, refused from
 * Content-Length alone when it is declared; a body that stalls → 408, and one the client aborts
 * rejects at once, so a handler never waits forever.
 *
 * Every body also passes REQUEST_JSON_CHECKS (domain/limits.ts) before any handler sees it: no
 * nesting past the depth limit (deep JSON overflows recursive consumers), no lone surrogates
 * (neither UTF-8 nor PostgreSQL can hold one), no non-finite numbers (`1e400` parses to Infinity,
 * which JSON writes back as null), no object member name past the identifier bound. → M_BAD_JSON.
 */
import { MatrixError, REQUEST_JSON_CHECKS, isJsonObject, jsonShapeProblem, type JsonObject, type JsonValue } from '../../domain/index.ts';
import type { IncomingMessage } from 'node:http';
import type { StrataContext } from './context.ts';
import { closeAfterResponse } from './requestBounds.ts';

export interface ReadJsonBodyOptions {
  /** Largest accepted body in bytes. */
  readonly maxBytes: number;
  /** Longest pause between two chunks of the body before giving up (default 30 s). */
  readonly idleTimeoutMs?: number;
  /** An empty body reads as `{}` (for endpoints whose body is optional). Default false. */
  readonly allowEmpty?: boolean;
}

const DEFAULT_IDLE_TIMEOUT_MS = 30_000;

const tooLarge = (maxBytes: number) => new MatrixError('M_TOO_LARGE', 413, `Request body is larger than ${maxBytes} bytes`);
const notJson = (message: string) => new MatrixError('M_NOT_JSON', 400, message);

const readBytes = (req: IncomingMessage, maxBytes: number, idleTimeoutMs: number): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let timer: NodeJS.Timeout | undefined;
    const finish = (error: Error | undefined) => {
      clearTimeout(timer);
      req.off('data', onData).off('end', onEnd).off('error', onError).off('close', onClose);
      if (error === undefined) resolve(Buffer.concat(chunks, size));
      else {
        // Stop buffering; Node discards whatever else the client sends after the response.
        req.pause();
        reject(error);
      }
    };
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(
        () => finish(new MatrixError('M_UNKNOWN', 408, 'Timed out reading the request body')),
        idleTimeoutMs,
      );
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) return finish(tooLarge(maxBytes));
      chunks.push(chunk);
      arm();
    };
    const onEnd = () => finish(undefined);
    // Node reports a client that goes away mid-body as 'error' (ECONNRESET, "aborted") or 'close'.
    const onAbort = () => finish(new MatrixError('M_UNKNOWN', 400, 'Client aborted the request body'));
    const onError = onAbort;
    const onClose = () => {
      if (!req.complete) onAbort();
    };
    req.on('data', onData).on('end', onEnd).on('error', onError).on('close', onClose);
    arm();
  });

const parsed = new WeakMap<StrataContext, JsonValue>();

/** Reads the body as a JSON object (M_BAD_JSON for any other JSON value). */
export function readJsonBody(ctx: StrataContext, options: ReadJsonBodyOptions): Promise<JsonObject>;
/** Reads the body as any JSON value. */
export function readJsonBody(ctx: StrataContext, options: ReadJsonBodyOptions & { readonly anyValue: true }): Promise<JsonValue>;
export async function readJsonBody(
  ctx: StrataContext,
  options: ReadJsonBodyOptions & { readonly anyValue?: boolean },
): Promise<JsonValue> {
  let value = parsed.get(ctx);
  if (value === undefined) {
    if (ctx.req.readableEnded) throw new MatrixError('M_UNKNOWN', 500, 'Request body was already consumed');
    value = parseJson(await readBoundedBody(ctx, options), options.allowEmpty ?? false);
    parsed.set(ctx, value);
  }
  if (options.anyValue !== true && !isJsonObject(value)) throw new MatrixError('M_BAD_JSON', 400, 'Content must be a JSON object');
  return value;
}

/** The whole body, refused past `maxBytes` (declared or read) or after an idle pause. */
const readBoundedBody = async (ctx: StrataContext, options: ReadJsonBodyOptions): Promise<Buffer> => {
  try {
    const declared = ctx.request.length;
    if (declared !== undefined && declared > options.maxBytes) throw tooLarge(options.maxBytes);
    return await readBytes(ctx.req, options.maxBytes, options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS);
  } catch (error) {
    // The rest of the body is unread: close the connection after the error response rather than
    // have Node read (or wait for) what is left of it.
    closeAfterResponse(ctx);
    throw error;
  }
};

const utf8 = new TextDecoder('utf-8', { fatal: true });

const parseJson = (bytes: Buffer, allowEmpty: boolean): JsonValue => {
  if (bytes.length === 0) {
    if (allowEmpty) return {};
    throw notJson('Content not JSON: the body is empty');
  }
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw notJson('Content not JSON: not valid UTF-8');
  }
  let value: JsonValue;
  try {
    value = JSON.parse(text) as JsonValue;
  } catch {
    throw notJson('Content not JSON');
  }
  const problem = jsonShapeProblem(value, REQUEST_JSON_CHECKS);
  if (problem !== undefined) throw new MatrixError('M_BAD_JSON', 400, `Unacceptable JSON: ${problem.reason}`);
  return value;
};

/**
 * Reads an `application/x-www-form-urlencoded` body (the fallback pages' forms), bounded like a
 * JSON body; an empty body is an empty form.
 */
export const readFormBody = async (ctx: StrataContext, options: ReadJsonBodyOptions): Promise<URLSearchParams> => {
  if (ctx.req.readableEnded) return new URLSearchParams();
  const bytes = await readBoundedBody(ctx, options);
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw new MatrixError('M_INVALID_PARAM', 400, 'Form body is not valid UTF-8');
  }
  return new URLSearchParams(text);
};
