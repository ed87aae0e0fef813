/**
 * Reads behind push-rule evaluation: the events an unread count evaluates (with the state its
 * push context starts from) and the scan /notifications pages through. Rules themselves are
 * evaluated in domain/app/notifications; SQL only narrows the events down.
 */
import type { SqlExecutor } from '../../domain/index.ts';
import type { NotificationReadModel, PushStateAt, StoredEvent, UnreadWindow } from '../../domain/app/rooms/index.ts';
import { EVENT_COLUMNS, hydrate, type EventRow } from './rows.ts';

/**
 * The member, power levels and create state as of `after` (the latest change at or before it),
 * and the joined count, in one statement: a row per wanted event, or one row of nulls.
 */
const STATE_AT = `
  WITH s AS (
    SELECT DISTINCT ON (type, state_key) type, state_key, event_id FROM room_state_changes
    WHERE room_id = $1 AND log_offset <= $2
      AND (type = 'm.room.member' OR (state_key = '' AND type IN ('m.room.power_levels', 'm.room.create')))
    ORDER BY type, state_key, log_offset DESC),
  joined AS (
    SELECT count(*) AS n FROM s JOIN room_events m ON m.event_id = s.event_id
    WHERE s.type = 'm.room.member' AND m.pdu->'content'->>'membership' = 'join')
  SELECT joined.n AS joined_members, e.* FROM joined LEFT JOIN (
    SELECT ${EVENT_COLUMNS} FROM room_events WHERE event_id IN (
      SELECT event_id FROM s WHERE event_id IS NOT NULL AND (type <> 'm.room.member' OR state_key = $3))) AS e ON true`;

const stateAt = async (db: SqlExecutor, roomId: string, userId: string, after: number): Promise<PushStateAt> => {
  const { rows } = await db.query<EventRow & { joined_members: number | string }>(STATE_AT, [roomId, after, userId]);
  const events = await hydrate(db, rows.filter((row) => row.event_id !== null));
  const find = (type: string): StoredEvent | undefined => events.find((event) => event.type === type);
  const ownMember = find('m.room.member');
  const powerLevels = find('m.room.power_levels');
  const create = find('m.room.create');
  return {
    joinedMembers: Number(rows[0]?.joined_members ?? 0),
    ...(ownMember === undefined ? {} : { ownMember }),
    ...(powerLevels === undefined ? {} : { powerLevels }),
    ...(create === undefined ? {} : { create }),
  };
};

/** SyncReadModel.unreadWindow over the rooms read model. */
export const unreadWindow = async (
  db: SqlExecutor, roomId: string, userId: string | null, after: number, before: number, withState: boolean, limit?: number,
): Promise<UnreadWindow> => {
  if (userId === null && withState) throw new Error('unreadWindow: the state before the window is a user\'s');
  // The user's own state events stay: they change the display name and member count mid-window.
  const { rows } = await db.query<EventRow>(
    `SELECT ${EVENT_COLUMNS} FROM room_events
     WHERE room_id = $1 AND log_offset > $2 AND log_offset < $3 AND NOT outlier
       AND ($4::text IS NULL OR sender <> $4 OR state_key IS NOT NULL OR type = 'm.room.redaction')
     ORDER BY log_offset LIMIT $5::bigint`,
    [roomId, after, before, userId, limit ?? null]);
  const events = await hydrate(db, rows);
  return withState ? { events, stateBefore: await stateAt(db, roomId, userId!, after) } : { events };
};

export const createNotificationQueries = (db: SqlExecutor): NotificationReadModel => ({
  async candidates(userId, before, limit) {
    // Each joined room gives at most `limit` events (a range scan of room_events_room_ts), so a
    // page costs rooms × limit rows at most. Only events after the user first joined: older ones never notified them.
    // A room the user is invited to gives its invite only (`.m.rule.invite_for_me`): the invitee
    // sees nothing else of it, and Synapse records push actions for the invitee of that event alone.
    const { rows } = await db.query<{ room_id: string; event_id: string; log_offset: number | string; origin_server_ts: number | string }>(
      `WITH joined AS (
         SELECT m.room_id, (SELECT min(c.log_offset) FROM room_state_changes c JOIN room_events j ON j.event_id = c.event_id
                            WHERE c.room_id = m.room_id AND c.type = 'm.room.member' AND c.state_key = $1
                              AND j.pdu->'content'->>'membership' = 'join') AS since
         FROM room_memberships m WHERE m.user_id = $1 AND m.membership = 'join'),
       candidates AS (
         SELECT page.* FROM joined CROSS JOIN LATERAL (
           SELECT e.room_id, e.event_id, e.log_offset, e.origin_server_ts FROM room_events e
           WHERE e.room_id = joined.room_id AND e.log_offset > joined.since AND e.sender <> $1 AND e.redacted_because IS NULL AND NOT e.outlier
             AND ($2::bigint IS NULL OR (e.origin_server_ts, e.event_id) < ($2::bigint, $3::text))
           ORDER BY e.origin_server_ts DESC, e.event_id DESC LIMIT $4) AS page
         UNION ALL
         SELECT e.room_id, e.event_id, e.log_offset, e.origin_server_ts
         FROM room_memberships m JOIN room_events e ON e.event_id = m.event_id
         WHERE m.user_id = $1 AND m.membership = 'invite' AND e.sender <> $1 AND e.redacted_because IS NULL
           AND ($2::bigint IS NULL OR (e.origin_server_ts, e.event_id) < ($2::bigint, $3::text)))
       SELECT * FROM candidates ORDER BY origin_server_ts DESC, event_id DESC LIMIT $4`,
      [userId, before?.ts ?? null, before?.eventId ?? '', limit]);
    return rows.map((row) => ({ roomId: row.room_id, eventId: row.event_id, offset: Number(row.log_offset), ts: Number(row.origin_server_ts) }));
  },
});
