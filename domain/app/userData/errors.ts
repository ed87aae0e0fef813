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
