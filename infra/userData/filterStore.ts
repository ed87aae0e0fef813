/** Stored filters (client-server-api § Filtering): ids are decimal strings, unique per server. */
import type { FilterStore, JsonObject, SqlDatabase } from '../../domain/app/userData/index.ts';

export const createSqlFilterStore = (db: SqlDatabase): FilterStore => ({
  async create(userId, filter) {
    const { rows } = await db.query<{ filter_id: number }>(
      `INSERT INTO user_filters (user_id, filter_id, filter) VALUES ($1, nextval('user_filters_seq'), $2::jsonb)
       RETURNING filter_id`,
      [userId, JSON.stringify(filter)],
    );
    return String(rows[0]!.filter_id);
  },

  async get(userId, filterId) {
    // Ids are ours: anything that is not a decimal number was never handed out.
    if (!/^[0-9]{1,15}$/.test(filterId)) return undefined;
    const { rows } = await db.query<{ filter: JsonObject }>(
      'SELECT filter FROM user_filters WHERE user_id = $1 AND filter_id = $2',
      [userId, Number(filterId)],
    );
    return rows[0]?.filter;
  },
});
