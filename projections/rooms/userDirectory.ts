/**
 * The user directory and mutual rooms over the membership tables (domain/ports/rooms.ts
 * UserDirectoryReadModel). As Synapse by default (`user_directory.search_all_users: false`), a
 * requester finds the other users who share a room with them and anyone joined to a public room:
 * one whose join rule is `public` or whose history is `world_readable`; users sharing a room come
 * first. Names come from the user's newest membership event among those rooms (so no name from a
 * room the requester cannot see), which the profile sync keeps equal to a local user's profile.
 */
import type { SqlExecutor, SqlParam } from '../../domain/index.ts';
import type { DirectoryUser, UserDirectoryReadModel } from '../../domain/app/rooms/index.ts';

/** A regular expression matching `word` at the start of a word (PostgreSQL ARE syntax). */
const wordStart = (word: string): string => `(^|[^[:alnum:]])${word.replace(/[\\^$.*+?()[\]{}|-]/g, (c) => `\\${c}`)}`;

export const createSqlUserDirectory = (db: SqlExecutor): UserDirectoryReadModel => ({
  async search(requester, words, limit) {
    if (words.length === 0) return [];
    const values: SqlParam[] = [requester, limit];
    const matches = words.map((word) => {
      values.push(wordStart(word));
      const p = `$${values.length}`;
      return `(lower(user_id) ~ ${p} OR lower(COALESCE(display_name, '')) ~ ${p})`;
    });
    const { rows } = await db.query<{ user_id: string; display_name: string | null; avatar_url: string | null }>(
      `WITH mine AS (SELECT room_id FROM room_memberships WHERE user_id = $1 AND membership = 'join'),
       public AS (
         SELECT s.room_id FROM room_current_state s JOIN room_events j ON j.event_id = s.event_id
         WHERE s.state_key = '' AND (
           (s.type = 'm.room.join_rules' AND j.pdu->'content'->>'join_rule' = 'public')
           OR (s.type = 'm.room.history_visibility' AND j.pdu->'content'->>'history_visibility' = 'world_readable'))),
       visible AS (
         SELECT m.user_id, m.event_id, m.room_id IN (SELECT room_id FROM mine) AS shared FROM room_memberships m
         WHERE m.membership = 'join' AND (
           (m.user_id <> $1 AND m.room_id IN (SELECT room_id FROM mine)) OR m.room_id IN (SELECT room_id FROM public))),
       users AS (
         SELECT DISTINCT ON (v.user_id) v.user_id, bool_or(v.shared) OVER (PARTITION BY v.user_id) AS shared,
           e.pdu->'content'->>'displayname' AS display_name, e.pdu->'content'->>'avatar_url' AS avatar_url
         FROM visible v JOIN room_events e ON e.event_id = v.event_id
         ORDER BY v.user_id, e.log_offset DESC)
       SELECT user_id, display_name, avatar_url FROM users WHERE ${matches.join(' AND ')}
       ORDER BY shared DESC, display_name IS NULL, avatar_url IS NULL, lower(display_name), user_id LIMIT $2`,
      values);
    return rows.map((row): DirectoryUser => ({ userId: row.user_id, displayName: row.display_name, avatarUrl: row.avatar_url }));
  },

  async mutualRooms(userId, otherUserId) {
    const { rows } = await db.query<{ room_id: string }>(
      `SELECT a.room_id FROM room_memberships a JOIN room_memberships b ON b.room_id = a.room_id
       WHERE a.user_id = $1 AND b.user_id = $2 AND a.membership = 'join' AND b.membership = 'join'
       ORDER BY a.room_id`,
      [userId, otherUserId]);
    return rows.map((row) => row.room_id);
  },
});
