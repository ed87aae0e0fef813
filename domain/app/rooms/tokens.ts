/**
 * Pagination tokens of a room's timeline: `t<N>` is the position just before log offset N of the
 * room's partition, so events with offset < N are behind it. /sync's `prev_batch` uses the same form.
 */
import { MatrixError } from '../../errors.ts';
import { decodeSyncToken } from '../sync/token.ts';

export const roomToken = (offset: number): string => `t${offset}`;

export const parseRoomToken = (token: string, name = 'from'): number => {
  // Negative: history backfilled from other servers sits before offset 0 (records.ts `pdu.backfilled`).
  const match = /^t(-?\d{1,16})$/.exec(token);
  if (match === null) throw new MatrixError('M_INVALID_PARAM', 400, `Invalid '${name}' token`);
  return Number(match[1]);
};

/**
 * A position in a room's timeline from a pagination token: our `t<N>`, or a /sync `next_batch`,
 * which message_pagination.yaml and relations.yaml allow for `from` and `to`. A sync token holds
 * the rooms projection's next offset per partition (../sync/token.ts, the one codec of that
 * format); the room's partition entry is the same "before offset N" position (missing is 0).
 */
export const parseTimelineToken = (token: string, partition: number, name = 'from'): number => {
  if (!token.startsWith('s')) return parseRoomToken(token, name);
  const sync = decodeSyncToken(token);
  if (sync === undefined) throw new MatrixError('M_INVALID_PARAM', 400, `Invalid '${name}' token`);
  return sync.rooms.get(partition) ?? 0;
};
