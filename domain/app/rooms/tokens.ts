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

/**
 * A position in a room's timeline from a pagination token: our `t<N>`, or a /sync `next_batch`,
 * which message_pagination.yaml and relations.yaml allow for `from` and `to`. A sync token (domain/app/sync/token.ts)
 * starts `s<offset of partition 0>.<partition 1>…_`; the room's partition entry is the same
 * "before offset N" position (a missing partition is 0).
 */
export const parseTimelineToken = (token: string, partition: number, name = 'from'): number => {
  const sync = /^s([\d.]*)_[\d_]+$/.exec(token);
  if (sync === null) return parseRoomToken(token, name);
  const offsets = sync[1] === '' ? [] : sync[1]!.split('.');
  const offset = offsets[partition] ?? '0';
  if (!/^\d{1,15}$/.test(offset)) throw new MatrixError('M_INVALID_PARAM', 400, `Invalid '${name}' token`);
  return Number(offset);
};
