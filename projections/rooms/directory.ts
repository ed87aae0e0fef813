/**
 * Aliases and the published-rooms directory (RoomDirectory). These tables are written by the
 * use-cases, not by the projection: an alias must be unique server-wide at the moment it is
 * claimed, which a per-room log partition cannot decide, and neither is part of any room's DAG.
 * So they are not in the projection's `tables` (a rebuild keeps them).
 */
import { isJsonObject, type JsonObject, type SqlDatabase } from '../../domain/index.ts';
import type { DirectoryVisibility, PublicRoomsNetwork, PublicRoomsPage, RoomDirectory } from '../../domain/app/rooms/index.ts';

export const ROOM_DIRECTORY_SCHEMA: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS room_aliases (
    alias text PRIMARY KEY,
    room_id text NOT NULL,
    creator text NOT NULL
  )`,
  'CREATE INDEX IF NOT EXISTS room_aliases_room ON room_aliases (room_id)',
  `CREATE TABLE IF NOT EXISTS room_directory (
    room_id text PRIMARY KEY,
    visibility text NOT NULL
  )`,
  // Rooms a bridge published in its networks' lists (Synapse's appservice_room_list).
  `CREATE TABLE IF NOT EXISTS appservice_room_list (
    appservice_id text NOT NULL,
    network_id text NOT NULL,
    room_id text NOT NULL,
    PRIMARY KEY (appservice_id, network_id, room_id)
  )`,
  `CREATE TABLE IF NOT EXISTS room_forgotten (
    user_id text NOT NULL,
    room_id text NOT NULL,
    PRIMARY KEY (user_id, room_id)
  )`,
];

export const ensureRoomDirectorySchema = async (db: SqlDatabase): Promise<void> => {
  for (const statement of ROOM_DIRECTORY_SCHEMA) await db.query(statement);
};

const stateContent = (type: string): string =>
  `(SELECT e.pdu->'content' FROM room_current_state s JOIN room_events e ON e.event_id = s.event_id
    WHERE s.room_id = d.room_id AND s.type = '${type}' AND s.state_key = '')`;

interface PublicRoomRow {
  room_id: string;
  room_type: string | null;
  joined: number | string;
  name: JsonObject | null;
  topic: JsonObject | null;
  alias: JsonObject | null;
  avatar: JsonObject | null;
  join_rules: JsonObject | null;
  history: JsonObject | null;
  guest: JsonObject | null;
}

const text = (content: JsonObject | null, key: string): string | undefined => {
  const value = isJsonObject(content) ? content[key] : undefined;
  return typeof value === 'string' ? value : undefined;
};

/** A PublicRoomsChunk (list_public_rooms.yaml). */
const chunkOf = (row: PublicRoomRow): JsonObject => {
  const chunk: JsonObject = {
    room_id: row.room_id,
    num_joined_members: Number(row.joined),
    world_readable: text(row.history, 'history_visibility') === 'world_readable',
    guest_can_join: text(row.guest, 'guest_access') === 'can_join',
    join_rule: text(row.join_rules, 'join_rule') ?? 'invite',
  };
  const optional: [string, string | undefined][] = [
    ['name', text(row.name, 'name')], ['topic', text(row.topic, 'topic')],
    ['canonical_alias', text(row.alias, 'alias')], ['avatar_url', text(row.avatar, 'url')],
  ];
  for (const [key, value] of optional) if (value !== undefined && value !== '') chunk[key] = value;
  if (row.room_type !== null) chunk.room_type = row.room_type;
  return chunk;
};

/**
 * The rooms of a list, as Synapse's get_largest_public_rooms picks them: the server's own list,
 * one bridge network's, or all of them together.
 */
const publishedRooms = (network: PublicRoomsNetwork | undefined): { sql: string; params: string[] } => {
  const ownList = "SELECT room_id FROM room_directory WHERE visibility = 'public'";
  if (network === undefined) return { sql: ownList, params: [] };
  if (network === 'all') return { sql: `${ownList} UNION SELECT room_id FROM appservice_room_list`, params: [] };
  return { sql: 'SELECT room_id FROM appservice_room_list WHERE appservice_id = $1 AND network_id = $2', params: [network.appserviceId, network.networkId] };
};

export const createSqlRoomDirectory = (db: SqlDatabase): RoomDirectory => ({
  async createAlias(alias, roomId, creator) {
    const { rowCount } = await db.query(
      'INSERT INTO room_aliases (alias, room_id, creator) VALUES ($1, $2, $3) ON CONFLICT (alias) DO NOTHING',
      [alias, roomId, creator]);
    return rowCount === 1;
  },
  async resolveAlias(alias) {
    const { rows } = await db.query<{ room_id: string; creator: string }>('SELECT room_id, creator FROM room_aliases WHERE alias = $1', [alias]);
    const row = rows[0];
    return row === undefined ? undefined : { roomId: row.room_id, creator: row.creator };
  },
  async deleteAlias(alias) {
    const { rowCount } = await db.query('DELETE FROM room_aliases WHERE alias = $1', [alias]);
    return rowCount > 0;
  },
  async aliasesOf(roomId) {
    const { rows } = await db.query<{ alias: string }>('SELECT alias FROM room_aliases WHERE room_id = $1 ORDER BY alias', [roomId]);
    return rows.map((row) => row.alias);
  },
  async setVisibility(roomId, visibility) {
    await db.query(
      `INSERT INTO room_directory (room_id, visibility) VALUES ($1, $2)
       ON CONFLICT (room_id) DO UPDATE SET visibility = EXCLUDED.visibility`, [roomId, visibility]);
  },
  async visibility(roomId): Promise<DirectoryVisibility> {
    const { rows } = await db.query<{ visibility: string }>('SELECT visibility FROM room_directory WHERE room_id = $1', [roomId]);
    return rows[0]?.visibility === 'public' ? 'public' : 'private';
  },
  async setNetworkVisibility(appserviceId, networkId, roomId, visibility) {
    await db.query(visibility === 'public'
      ? 'INSERT INTO appservice_room_list (appservice_id, network_id, room_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING'
      : 'DELETE FROM appservice_room_list WHERE appservice_id = $1 AND network_id = $2 AND room_id = $3', [appserviceId, networkId, roomId]);
  },
  async setForgotten(userId, roomId, forgotten) {
    await db.query(forgotten
      ? 'INSERT INTO room_forgotten (user_id, room_id) VALUES ($1, $2) ON CONFLICT DO NOTHING'
      : 'DELETE FROM room_forgotten WHERE user_id = $1 AND room_id = $2', [userId, roomId]);
  },
  async forgottenRooms(userId) {
    const { rows } = await db.query<{ room_id: string }>('SELECT room_id FROM room_forgotten WHERE user_id = $1 ORDER BY room_id', [userId]);
    return rows.map((row) => row.room_id);
  },
  async publicRooms({ limit, offset, searchTerm, roomTypes, network }): Promise<PublicRoomsPage> {
    const published = publishedRooms(network);
    const { rows } = await db.query<PublicRoomRow>(
      `SELECT d.room_id, r.room_type,
         (SELECT count(*) FROM room_memberships m WHERE m.room_id = d.room_id AND m.membership = 'join') AS joined,
         ${stateContent('m.room.name')} AS name, ${stateContent('m.room.topic')} AS topic,
         ${stateContent('m.room.canonical_alias')} AS alias, ${stateContent('m.room.avatar')} AS avatar,
         ${stateContent('m.room.join_rules')} AS join_rules, ${stateContent('m.room.history_visibility')} AS history,
         ${stateContent('m.room.guest_access')} AS guest
       FROM (${published.sql}) d JOIN rooms r ON r.room_id = d.room_id`, published.params);
    const term = searchTerm?.toLowerCase();
    const matching = rows.filter((row) => roomTypes === undefined || roomTypes.includes(row.room_type)).map(chunkOf)
      .filter((chunk) => term === undefined
        || ['name', 'topic', 'canonical_alias', 'room_id'].some((key) => String(chunk[key] ?? '').toLowerCase().includes(term)))
      .sort((a, b) => Number(b.num_joined_members) - Number(a.num_joined_members) || String(a.room_id).localeCompare(String(b.room_id)));
    const page = matching.slice(offset, offset + limit);
    return { chunk: page, total: matching.length, nextOffset: offset + limit < matching.length ? offset + limit : null };
  },
});
