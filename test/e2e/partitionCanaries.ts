/**
 * Rooms that together land on every partition of the room log, for tests proving that no partition
 * stopped: one unstorable record stops its whole partition, not just its room. A room's partition is
 * the log's partitioner over its id (the same murmur2 in the embedded log and Kafka).
 */
import { partitionForKey } from '../../infra/embedded/index.ts';
import type { UserClient } from '../harness/index.ts';

/** Partitions of the room events topic a server creates (infra/strata.ts). */
export const ROOM_LOG_PARTITIONS = 8;

/** Creates private rooms as `user` until every partition holds one; answers one room per partition. */
export const roomOnEveryPartition = async (user: UserClient): Promise<string[]> => {
  const rooms = new Map<number, string>();
  for (let attempt = 0; rooms.size < ROOM_LOG_PARTITIONS; attempt++) {
    if (attempt > 200) throw new Error(`no room landed on some partition after ${attempt} rooms`);
    const roomId = await user.createRoom({ preset: 'private_chat' });
    const partition = partitionForKey(roomId, ROOM_LOG_PARTITIONS);
    if (!rooms.has(partition)) rooms.set(partition, roomId);
  }
  return [...rooms.values()];
};
