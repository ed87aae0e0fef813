/**
 * Erasure and retention over the rooms read model (projections/rooms) and the content keys beside
 * it. Stripping uses the same redaction SQL as the rooms projection, per room version.
 */
import { roomVersionRules, type ErasureReadModel, type SqlDatabase, type SqlParam } from '../../domain/index.ts';
import { redactedPduSql, type RecentEvents } from '../../projections/rooms/index.ts';

export const ERASURE_INDEXES: readonly string[] = [
  // The redaction sweeper reads redacted events only.
  'CREATE INDEX IF NOT EXISTS room_events_redacted ON room_events (redacted_because) WHERE redacted_because IS NOT NULL',
  'CREATE INDEX IF NOT EXISTS room_events_sender ON room_events (sender)',
  'CREATE INDEX IF NOT EXISTS room_events_room_accepted ON room_events (room_id, accepted_at) WHERE state_key IS NULL',
];

export const ensureErasureIndexes = async (db: SqlDatabase): Promise<void> => {
  for (const statement of ERASURE_INDEXES) await db.query(statement);
};

/**
 * The search projection's rows of erased or purged events go with them: its vectors hold the words
 * (projections/search). Its table exists once the search projection has started.
 */
const forgetSearchRows = async (db: SqlDatabase, where: string, values: readonly SqlParam[]): Promise<void> => {
  const { rows } = await db.query<{ present: boolean }>("SELECT to_regclass('search_events') IS NOT NULL AS present");
  if (rows[0]?.present === true) await db.query(`DELETE FROM search_events WHERE ${where}`, values);
};

/** Forgetting is asked before a rewrite and after it, so no read in between holds an old row after it. */
export const createSqlErasureReadModel = (
  db: SqlDatabase, recent?: Pick<RecentEvents, 'forgetRoom' | 'forgetAll'>,
): ErasureReadModel => ({
  async currentStateSentBy(userId) {
    const { rows } = await db.query<{ event_id: string }>(
      `SELECT e.event_id FROM room_current_state c JOIN room_events e ON e.event_id = c.event_id
       WHERE e.sender = $1 AND c.type <> 'm.room.member'`, [userId]);
    return rows.map((row) => row.event_id);
  },

  async stripContentSentBy(userId, keepEventIds) {
    const { rows } = await db.query<{ room_version: string }>('SELECT DISTINCT room_version FROM room_events WHERE sender = $1', [userId]);
    recent?.forgetAll();
    let stripped = 0;
    for (const { room_version: version } of rows) {
      const rules = roomVersionRules(version);
      if (rules === undefined) throw new Error(`erasure: unknown room version ${version}`);
      const { rowCount } = await db.query(
        `UPDATE room_events SET pdu = ${redactedPduSql(rules.redaction)}, pdu_exact = NULL
         WHERE sender = $1 AND room_version = $2 AND NOT (event_id = ANY($3::text[]))`,
        [userId, version, [...keepEventIds]]);
      stripped += rowCount;
    }
    recent?.forgetAll();
    await forgetSearchRows(db, 'sender = $1 AND NOT (event_id = ANY($2::text[]))', [userId, [...keepEventIds]]);
    return stripped;
  },

  async redactedBefore(cutoff, limit) {
    const { rows } = await db.query<{ event_id: string }>(
      `SELECT e.event_id FROM room_events e JOIN room_events r ON r.event_id = e.redacted_because
       WHERE e.redacted_because IS NOT NULL AND r.accepted_at < $1
         AND EXISTS (SELECT 1 FROM content_keys k WHERE k.event_id = e.event_id)
       LIMIT $2`, [cutoff, limit]);
    return rows.map((row) => row.event_id);
  },

  async retentionPolicies() {
    const { rows } = await db.query<{ room_id: string; content: Record<string, unknown> | null }>(
      `SELECT r.room_id, e.pdu->'content' AS content FROM rooms r
       LEFT JOIN room_current_state c ON c.room_id = r.room_id AND c.type = 'm.room.retention' AND c.state_key = ''
       LEFT JOIN room_events e ON e.event_id = c.event_id`);
    return rows.map((row) => ({ roomId: row.room_id, content: row.content }));
  },

  async purgeBefore(roomId, cutoff, limit) {
    // Never state (Synapse keeps it), never the room's newest event or forward extremities: the
    // writer's snapshot reads them.
    recent?.forgetRoom(roomId);
    const { rows } = await db.query<{ event_id: string }>(
        `DELETE FROM room_events WHERE event_id IN (
           SELECT e.event_id FROM room_events e JOIN rooms r ON r.room_id = e.room_id
           WHERE e.room_id = $1 AND e.state_key IS NULL AND e.accepted_at < $2
             AND e.event_id IS DISTINCT FROM r.last_event_id AND NOT (r.forward_extremities ? e.event_id)
           ORDER BY e.log_offset LIMIT $3)
         RETURNING event_id`, [roomId, cutoff, limit]);
    const purged = rows.map((row) => row.event_id);
    recent?.forgetRoom(roomId);
    if (purged.length > 0) await forgetSearchRows(db, 'event_id = ANY($1::text[])', [purged]);
    return purged;
  },
});
