/**
 * The sliding sync room list (domain/ports/slidingSync.ts) over the rooms read model: a user's
 * rooms with their summaries (the `rooms` columns of schema version 4), sorted in SQL.
 */
import type { SlidingRoomsReadModel, SqlExecutor } from '../../domain/index.ts';

interface SummaryRow {
  room_id: string;
  log_partition: number;
  last_offset: number | string;
  membership: string;
  event_id: string;
  sender: string | null;
  sort_stamp: number | string | null;
  room_type: string | null;
  encrypted: boolean;
  room_name: string | null;
  room_avatar: string | null;
  canonical_alias: string | null;
  joined_count: number | string;
  invited_count: number | string;
}

export const createSlidingRoomQueries = (db: SqlExecutor): SlidingRoomsReadModel => ({
  async userRooms(userId) {
    // room_memberships_user (user_id, membership) finds the rows; the sort is over the user's rooms only.
    // Stamps are milliseconds: within one, the later offset (of one partition) counts as more recent.
    const { rows } = await db.query<SummaryRow>(
      `SELECT * FROM (
         SELECT m.room_id, r.log_partition, r.last_offset, m.membership, m.event_id, e.sender,
           CASE WHEN m.membership = 'join' THEN GREATEST(r.bump_stamp, e.accepted_at) ELSE e.accepted_at END AS sort_stamp,
           CASE WHEN m.membership = 'join' THEN r.last_offset ELSE e.log_offset END AS tie,
           r.room_type, r.encrypted, r.room_name, r.room_avatar, r.canonical_alias, r.joined_count, r.invited_count
         FROM room_memberships m
         JOIN rooms r ON r.room_id = m.room_id
         LEFT JOIN room_events e ON e.event_id = m.event_id
         WHERE m.user_id = $1) AS ranked
       ORDER BY sort_stamp DESC NULLS LAST, tie DESC NULLS LAST, room_id`,
      [userId]);
    return rows.map((row) => ({
      roomId: row.room_id, partition: Number(row.log_partition), lastOffset: Number(row.last_offset),
      membership: row.membership, membershipEventId: row.event_id, membershipSender: row.sender,
      bumpStamp: Number(row.sort_stamp ?? 0), roomType: row.room_type, encrypted: row.encrypted === true,
      name: row.room_name, avatar: row.room_avatar, canonicalAlias: row.canonical_alias,
      joinedCount: Number(row.joined_count), invitedCount: Number(row.invited_count),
    }));
  },

  async spaceChildren(spaceIds) {
    const children = new Map<string, Set<string>>();
    if (spaceIds.length === 0) return children;
    const { rows } = await db.query<{ room_id: string; state_key: string }>(
      `SELECT c.room_id, c.state_key FROM room_current_state c JOIN room_events e ON e.event_id = c.event_id
       WHERE c.room_id = ANY($1::text[]) AND c.type = 'm.space.child'
         AND jsonb_typeof(e.pdu->'content'->'via') = 'array' AND jsonb_array_length(e.pdu->'content'->'via') > 0`,
      [[...spaceIds]]);
    for (const row of rows) {
      let ofSpace = children.get(row.room_id);
      if (ofSpace === undefined) children.set(row.room_id, (ofSpace = new Set()));
      ofSpace.add(row.state_key);
    }
    return children;
  },
});
