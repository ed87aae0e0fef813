/**
 * Queries /sync needs over the rooms read model (domain/ports/rooms.ts SyncReadModel) and the
 * membership answers the per-user streams need (RoomMembership). PostgreSQL and PGlite alike.
 */
import type { SqlExecutor } from '../../domain/index.ts';
import type { SyncReadModel, UserMembershipChange } from '../../domain/app/rooms/index.ts';
import type { RoomMembership } from '../../domain/app/userData/index.ts';
import { ROOMS_PROJECTION_NAME } from './projection.ts';

/** Notifying event types (the default push rules' message, encrypted and sticker underrides). */
const NOTIFYING_TYPES = ['m.room.message', 'm.room.encrypted', 'm.sticker'];
const MAX_HEROES = 5;

/**
 * Indexes the sync queries lean on, beside the projection's own schema: a user's membership
 * changes across rooms. Idempotent; run after the rooms projection created its tables.
 */
export const SYNC_INDEXES: readonly string[] = [
  'CREATE INDEX IF NOT EXISTS room_state_changes_by_key ON room_state_changes (state_key, type)',
];

export const ensureSyncIndexes = async (db: SqlExecutor): Promise<void> => {
  for (const statement of SYNC_INDEXES) await db.query(statement);
};

const vector = (upTo: ReadonlyMap<number, number>): [number[], number[]] => {
  const entries = [...upTo.entries()];
  return [entries.map(([partition]) => partition), entries.map(([, next]) => next)];
};

export const createSyncQueries = (db: SqlExecutor): SyncReadModel => ({
  async roomPositions() {
    const { rows } = await db.query<{ partition: number; next_offset: number | string }>(
      "SELECT partition, next_offset FROM projection_positions WHERE projection = $1", [ROOMS_PROJECTION_NAME]);
    return new Map(rows.map((row) => [Number(row.partition), Number(row.next_offset)]));
  },

  async membershipChanges(userId, upTo) {
    const [partitions, nexts] = vector(upTo);
    if (partitions.length === 0) return [];
    const { rows } = await db.query<{ room_id: string; log_partition: number; log_offset: number | string; event_id: string | null; membership: string | null }>(
      `SELECT c.room_id, r.log_partition, c.log_offset, c.event_id, e.pdu->'content'->>'membership' AS membership
       FROM room_state_changes c
       JOIN rooms r ON r.room_id = c.room_id
       JOIN unnest($2::integer[], $3::bigint[]) AS p(part, next) ON p.part = r.log_partition
       LEFT JOIN room_events e ON e.event_id = c.event_id
       WHERE c.state_key = $1 AND c.type = 'm.room.member' AND c.log_offset < p.next
       ORDER BY c.room_id, c.log_offset`,
      [userId, partitions, nexts]);
    return rows.map((row): UserMembershipChange => ({
      roomId: row.room_id, partition: Number(row.log_partition), offset: Number(row.log_offset),
      membership: row.membership ?? 'leave', eventId: row.event_id,
    }));
  },

  async notificationCounts(roomId, userId, after, before, names) {
    // Since v1.7 an event with `m.mentions` is a mention only through it; the display name and
    // user id rules apply to events without (push rules .m.rule.is_user_mention, contains_display_name).
    // The redactions ride along: an incremental count needs to know whether one landed (unread.ts).
    const { rows } = await db.query<{ notifications: number | string; highlights: number | string; redactions: number | string }>(
      `SELECT count(*) FILTER (WHERE notifying) AS notifications,
         count(*) FILTER (WHERE notifying AND CASE WHEN jsonb_typeof(pdu->'content'->'m.mentions') = 'object'
           THEN jsonb_typeof(pdu->'content'->'m.mentions'->'user_ids') = 'array' AND (pdu->'content'->'m.mentions'->'user_ids') ? $4
           ELSE EXISTS (SELECT 1 FROM unnest($6::text[]) AS n(name)
                        WHERE n.name <> '' AND strpos(lower(COALESCE(pdu->'content'->>'body', '')), lower(n.name)) > 0) END) AS highlights,
         count(*) FILTER (WHERE type = 'm.room.redaction') AS redactions
       FROM (SELECT pdu, type, (sender <> $4 AND state_key IS NULL AND type = ANY($5::text[]) AND redacted_because IS NULL) AS notifying
             FROM room_events WHERE room_id = $1 AND log_offset > $2 AND log_offset < $3) AS e`,
      [roomId, after, before, userId, NOTIFYING_TYPES, [...names]]);
    const row = rows[0];
    return { notifications: Number(row?.notifications ?? 0), highlights: Number(row?.highlights ?? 0), redactions: Number(row?.redactions ?? 0) };
  },

  async roomSummary(roomId, viewer) {
    const { rows } = await db.query<{ user_id: string; membership: string }>(
      `SELECT user_id, membership FROM room_memberships WHERE room_id = $1 AND membership IN ('join', 'invite')
       ORDER BY log_offset, user_id`, [roomId]);
    const joined = rows.filter((row) => row.membership === 'join').length;
    return {
      joined,
      invited: rows.length - joined,
      heroes: rows.filter((row) => row.user_id !== viewer).slice(0, MAX_HEROES).map((row) => row.user_id),
    };
  },
});

/** The membership port of the per-user streams (domain/ports/userData.ts RoomMembership). */
export const createSqlRoomMembership = (db: SqlExecutor): RoomMembership => ({
  async isJoined(roomId, userId) {
    const { rows } = await db.query(
      "SELECT 1 FROM room_memberships WHERE room_id = $1 AND user_id = $2 AND membership = 'join'", [roomId, userId]);
    return rows.length > 0;
  },
  async usersSharingRoomsWith(userId) {
    const { rows } = await db.query<{ user_id: string }>(
      `SELECT DISTINCT m.user_id FROM room_memberships m
       WHERE m.membership = 'join' AND m.room_id IN (
         SELECT room_id FROM room_memberships WHERE user_id = $1 AND membership = 'join')`, [userId]);
    return new Set([userId, ...rows.map((row) => row.user_id)]);
  },
});
