/**
 * Pagination tokens of a room's timeline: `t<N>` is the position just before log offset N of the
 * room's partition, so events with offset < N are behind it. /sync's `prev_batch` uses the same form.
 */
import { MatrixError } from '../../errors.ts';

export const roomToken = (offset: number): string => `t${offset}`;

export const parseRoomToken = (token: string, name = 'from'): number => {
  const match = /^t(\d{1,15})$/.exec(token);
  if (match === null) throw new MatrixError('M_INVALID_PARAM', 400, `Invalid '${name}' token`);
  return Number(match[1]);
};
