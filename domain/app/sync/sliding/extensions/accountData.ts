/**
 * The `account_data` extension (MSC3959): `global` account data (all of it on a connection's first
 * answer, push rules included; then what changed since the last answer) and, per room in scope,
 * the room's account data (tags included): all of it the first time the connection sends the room,
 * then what changed since the room was last sent.
 */
import type { JsonObject } from '../../../../json.ts';
import type { AccountDataEntry } from '../../../../ports/userData.ts';
import type { SyncContext } from '../../context.ts';
import { recordSent, type RoomPositions } from './state.ts';

export interface AccountDataAnswer {
  readonly answer: JsonObject | undefined;
  readonly sent: RoomPositions;
}

const event = (entry: AccountDataEntry): JsonObject => ({ type: entry.type, content: entry.content });

export const accountDataAnswer = async (
  ctx: SyncContext, userId: string, roomIds: readonly string[], sent: RoomPositions, since: number | undefined, upTo: number,
): Promise<AccountDataAnswer> => {
  const known = roomIds.filter((roomId) => Object.hasOwn(sent, roomId));
  const fresh = roomIds.length > known.length;
  // One read covers everything due: from the start when a room is new to the connection.
  const from = since === undefined || fresh ? 0 : Math.min(since, ...known.map((roomId) => sent[roomId]!));
  const entries = from >= upTo ? [] : await ctx.userData.streams.accountData.changesSince(userId, from, upTo);
  const global = entries.filter((entry) => entry.roomId === null && (since === undefined || entry.position > since)).map(event);
  const inScope = new Set(roomIds);
  const rooms: Record<string, JsonObject[]> = {};
  for (const entry of entries) {
    if (entry.roomId === null || !inScope.has(entry.roomId)) continue;
    const sentUpTo = sent[entry.roomId];
    if (sentUpTo !== undefined && entry.position <= sentUpTo) continue;
    (rooms[entry.roomId] ??= []).push(event(entry));
  }
  const next = recordSent(sent, roomIds, upTo);
  if (since !== undefined && global.length === 0 && Object.keys(rooms).length === 0) return { answer: undefined, sent: next };
  return { answer: { global, rooms }, sent: next };
};
