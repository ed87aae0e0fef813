/** Helpers of the room routes: the requester, path parameters and query strings. */
import { MatrixError, isJsonObject, type JsonObject } from '../../../domain/index.ts';
import type { RoomRequester } from '../../../domain/app/rooms/index.ts';
import { readJsonBody, type StrataContext } from '../../http/index.ts';
import { requesterOf } from '../accounts/index.ts';

/** Events may be up to 64 KiB as PDUs; a larger body is refused before parsing (413 M_TOO_LARGE). */
export const MAX_EVENT_BODY_BYTES = 96 * 1024;
export const MAX_BODY_BYTES = 64 * 1024;

export const roomRequester = (ctx: StrataContext): RoomRequester => {
  const requester = requesterOf(ctx);
  return {
    userId: requester.userId, deviceId: requester.deviceId,
    ...(requester.isGuest ? { isGuest: true } : {}),
    ...(requester.appservice === undefined ? {} : { appservice: requester.appservice }),
  };
};

export const param = (ctx: StrataContext, name: string): string => {
  const value = (ctx.params as Record<string, string | undefined>)[name];
  if (value === undefined) throw new Error(`route has no :${name} parameter`);
  return value;
};

export const queryString = (ctx: StrataContext, name: string): string | undefined => {
  const value = ctx.query[name];
  if (Array.isArray(value)) return value[value.length - 1];
  return value;
};

export const body = (ctx: StrataContext, maxBytes = MAX_BODY_BYTES, allowEmpty = false): Promise<JsonObject> =>
  readJsonBody(ctx, { maxBytes, allowEmpty });

export const optionalReason = (value: JsonObject): string | undefined => {
  const reason = value.reason;
  if (reason === undefined || reason === null) return undefined;
  if (typeof reason !== 'string') throw new MatrixError('M_INVALID_PARAM', 400, "'reason' must be a string");
  return reason;
};

export const requireUserId = (value: JsonObject): string => {
  const userId = value.user_id;
  if (userId === undefined) throw new MatrixError('M_MISSING_PARAM', 400, "Missing 'user_id'");
  if (typeof userId !== 'string') throw new MatrixError('M_INVALID_PARAM', 400, "'user_id' must be a string");
  return userId;
};

export const objectOrEmpty = (value: unknown): JsonObject => (isJsonObject(value) ? value : {});
