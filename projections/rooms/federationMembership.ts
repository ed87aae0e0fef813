/**
 * Which servers take part in rooms (domain/ports/userData.ts RoomServers): where typing, receipts,
 * presence and device-list EDUs go. Read from the rooms read model's current memberships; a server
 * counts while one of its users is joined. PostgreSQL and PGlite alike.
 */
import type { SqlExecutor } from '../../domain/index.ts';
import type { RoomServers } from '../../domain/app/userData/index.ts';

/**
 * The server name of a user id: everything after the first ':'. A server name may itself hold
 * colons (a port, an IPv6 literal), so splitting on every ':' would cut `example.org:8448` short.
 */
const SERVER_OF = "substr(user_id, strpos(user_id, ':') + 1)";

export const createSqlRoomServers = (db: SqlExecutor): RoomServers => ({
  async serversInRoom(roomId) {
    const { rows } = await db.query<{ server_name: string }>(
      `SELECT DISTINCT ${SERVER_OF} AS server_name FROM room_memberships
       WHERE room_id = $1 AND membership = 'join' ORDER BY server_name`, [roomId]);
    return rows.map((row) => row.server_name);
  },

  async serversSharingRoomsWith(userId) {
    const { rows } = await db.query<{ server_name: string }>(
      `SELECT DISTINCT ${SERVER_OF} AS server_name FROM room_memberships
       WHERE membership = 'join' AND room_id IN (
         SELECT room_id FROM room_memberships WHERE user_id = $1 AND membership = 'join')
       ORDER BY server_name`, [userId]);
    return rows.map((row) => row.server_name);
  },
});
