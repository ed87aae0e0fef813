/**
 * The /sync stream token (`next_batch`, `since`): one opaque string holding every stream's
 * position. `s<rooms>_<accountData>_<receipts>_<typing>_<toDevice>_<deviceLists>_<presence>`,
 * where `<rooms>` is the rooms projection's next offset of every log partition joined by `.`
 * (a room lives in one partition, so "new events of room R" = offsets of R's partition at or above
 * the token's entry). Clients treat it as opaque (client-server-api § Syncing).
 */
import { MatrixError } from '../../errors.ts';

export interface SyncPositions {
  /** Partition → next offset of the rooms projection (a missing partition is 0). */
  readonly rooms: ReadonlyMap<number, number>;
  readonly accountData: number;
  readonly receipts: number;
  readonly typing: number;
  readonly toDevice: number;
  readonly deviceLists: number;
  readonly presence: number;
}

const SCALARS = ['accountData', 'receipts', 'typing', 'toDevice', 'deviceLists', 'presence'] as const;
const NUMBER = /^\d{1,15}$/;
const MAX_PARTITIONS = 4096;

export const encodeSyncToken = (positions: SyncPositions): string => {
  const size = positions.rooms.size === 0 ? 0 : Math.max(...positions.rooms.keys()) + 1;
  const rooms = Array.from({ length: size }, (_, partition) => positions.rooms.get(partition) ?? 0).join('.');
  return `s${rooms}_${SCALARS.map((name) => positions[name]).join('_')}`;
};

/** Parses a `since` token; undefined when it is not one of ours. */
export const decodeSyncToken = (token: string): SyncPositions | undefined => {
  if (!token.startsWith('s')) return undefined;
  const parts = token.slice(1).split('_');
  if (parts.length !== SCALARS.length + 1) return undefined;
  const [roomPart, ...scalarParts] = parts as [string, ...string[]];
  const roomOffsets = roomPart === '' ? [] : roomPart.split('.');
  if (roomOffsets.length > MAX_PARTITIONS || !roomOffsets.every((o) => NUMBER.test(o)) || !scalarParts.every((p) => NUMBER.test(p))) return undefined;
  const rooms = new Map(roomOffsets.map((offset, partition) => [partition, Number(offset)]));
  const scalars = Object.fromEntries(SCALARS.map((name, i) => [name, Number(scalarParts[i])])) as Record<(typeof SCALARS)[number], number>;
  return { rooms, ...scalars };
};

export const parseSyncToken = (token: string, name = 'since'): SyncPositions => {
  const positions = decodeSyncToken(token);
  if (positions === undefined) throw new MatrixError('M_INVALID_PARAM', 400, `Invalid '${name}' token`);
  return positions;
};
