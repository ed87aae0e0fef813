/** Error helpers shared by the per-user data use-cases (client-server-api § Common error codes). */
import { MatrixError } from '../../errors.ts';
import { isRoomId } from '../../ids/index.ts';

export const forbidden = (message: string): MatrixError => new MatrixError('M_FORBIDDEN', 403, message);
export const notFound = (message: string): MatrixError => new MatrixError('M_NOT_FOUND', 404, message);
export const invalidParam = (message: string): MatrixError => new MatrixError('M_INVALID_PARAM', 400, message);
export const badJson = (message: string): MatrixError => new MatrixError('M_BAD_JSON', 400, message);

/** Only the user themself may read or change their per-user data. */
export const requireSelf = (requesterId: string, userId: string, what: string): void => {
  if (requesterId !== userId) throw forbidden(`Cannot access ${what} of other users`);
};

export const requireRoomId = (roomId: string): void => {
  if (!isRoomId(roomId)) throw invalidParam(`Invalid room id ${JSON.stringify(roomId)}`);
};

/**
 * Refuses a request naming more entries than its bound (domain/limits.ts): 413 like an over-large
 * body, since the client's remedy is the same (split the request).
 */
export const requireAtMost = (count: number, bound: number, what: string): void => {
  if (count > bound) throw new MatrixError('M_TOO_LARGE', 413, `At most ${bound} ${what} (got ${count})`);
};
