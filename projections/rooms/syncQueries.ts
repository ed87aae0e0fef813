/**
 * Queries /sync needs over the rooms read model (domain/ports/rooms.ts SyncReadModel) and the
 * membership answers the per-user streams need (RoomMembership). PostgreSQL and PGlite alike.
 */
import type { SqlExecutor } from '../../domain/index.ts';
import type { SyncReadModel, UserMembershipChange } from '../../domain/app/rooms/index.ts';
import type { RoomMembership } from '../../domain/app/userData/index.ts';
import { ROOMS_PROJECTION_NAME } from './projection.ts';
import type { RecentEvents } from './recentEvents.ts';
import { unreadWindow } from './unreadQueries.ts';
import { EVENT_COLUMNS, hydrate, type EventRow } from './rows.ts';

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

interface PositionRow {
  stream: string | null;
  partition: number | null;
  position: number | string;
}

interface MembershipRow {
  user_id: string;
  room_id: string;
  log_partition: number;
  log_offset: number | string;
  event_id: string | null;
  membership: string | null;
  last_offset: number | string;
}

/** Every stream's position: the rooms projection's per partition, then the user-data streams'. */
const POSITIONS = `SELECT NULL AS stream, partition, next_offset AS position FROM projection_positions WHERE projection = $1
  UNION ALL SELECT stream, NULL, position FROM stream_positions`;

/**
 * The membership changes of the users `users` names (`$1`, or `ANY($2::text[])`) below the next
 * offsets of `bounds` (part, next), oldest first per user and room.
 */
const membershipSql = (users: string, bounds: string): string =>
  `SELECT c.state_key AS user_id, c.room_id, r.log_partition, r.last_offset, c.log_offset, c.event_id,
     e.pdu->'content'->>'membership' AS membership
   FROM room_state_changes c
   JOIN rooms r ON r.room_id = c.room_id
   JOIN ${bounds} ON p.part = r.log_partition
   LEFT JOIN room_events e ON e.event_id = c.event_id
   WHERE c.state_key = ${users} AND c.type = 'm.room.member' AND c.log_offset < p.next
   ORDER BY c.state_key, c.room_id, c.log_offset`;

const positionsOf = (rows: readonly PositionRow[]) => {
  const stream = (name: string): number => Number(rows.find((row) => row.stream === name)?.position ?? 0);
  return {
    rooms: new Map(rows.filter((row) => row.stream === null).map((row) => [Number(row.partition), Number(row.position)])),
    streams: {
      accountData: stream('account_data'), receipts: stream('receipts'), toDevice: stream('to_device'),
      deviceLists: stream('device_lists'), presence: stream('presence'),
    },
  };
};

const membershipChangeOf = (row: MembershipRow): UserMembershipChange => ({
  roomId: row.room_id, partition: Number(row.log_partition), offset: Number(row.log_offset),
  membership: row.membership ?? 'leave', eventId: row.event_id, roomLastOffset: Number(row.last_offset),
});

type PositionsWithChanges = Awaited<ReturnType<SyncReadModel['positionsWithMembershipChanges']>>;

/**
 * Every stream's position and the membership changes of each of `userIds` below them, in one
 * statement and one snapshot: the positions as one JSON column beside the membership rows, which are
 * bounded by those same positions (a user with no membership still gets the positions).
 */
const readPositionsWithChanges = async (db: SqlExecutor, userIds: readonly string[]): Promise<Map<string, PositionsWithChanges>> => {
  const { rows } = await db.query<Partial<MembershipRow> & { positions: PositionRow[] | string | null }>(
    `WITH positions AS (${POSITIONS}),
       changes AS (${membershipSql('ANY($2::text[])', `(SELECT partition AS part, position AS next FROM positions WHERE stream IS NULL) AS p`)})
     SELECT (SELECT json_agg(positions) FROM positions) AS positions, changes.* FROM (SELECT 1) AS one
     LEFT JOIN changes ON true ORDER BY changes.user_id, changes.room_id, changes.log_offset`,
    [ROOMS_PROJECTION_NAME, [...userIds]]);
  const first = rows[0]?.positions ?? [];
  const positions = positionsOf(typeof first === 'string' ? (JSON.parse(first) as PositionRow[]) : first ?? []);
  const changes = new Map(userIds.map((userId): [string, UserMembershipChange[]] => [userId, []]));
  for (const row of rows) {
    if (typeof row.room_id === 'string') changes.get(row.user_id as string)?.push(membershipChangeOf(row as MembershipRow));
  }
  return new Map(userIds.map((userId) => [userId, { ...positions, changes: changes.get(userId)! }]));
};

/** With `recent`, the unread windows the newest events answer are read from memory (recentEvents.ts). */
export const createSyncQueries = (db: SqlExecutor, recent?: RecentEvents): SyncReadModel => {
  /**
   * The users asking in this turn of the event loop, answered by one statement when it ends. One
   * commit wakes every listener of a room at once: they share one snapshot (one round trip instead
   * of one each), so their timeline reads have equal bounds and are shared too (domain/app/sync/sharedReads.ts).
   * Each caller's snapshot is still read after it asked.
   */
  let pending: Map<string, { resolve: (answer: PositionsWithChanges) => void; reject: (error: unknown) => void }[]> | undefined;
  const flush = (): void => {
    const batch = pending!;
    pending = undefined;
    readPositionsWithChanges(db, [...batch.keys()]).then(
      (answers) => { for (const [userId, waiting] of batch) for (const { resolve } of waiting) resolve(answers.get(userId)!); },
      (error: unknown) => { for (const waiting of batch.values()) for (const { reject } of waiting) reject(error); },
    );
  };
  return createSyncReadModel(db, recent, (userId) => new Promise((resolve, reject) => {
    if (pending === undefined) {
      pending = new Map();
      setImmediate(flush);
    }
    let waiting = pending.get(userId);
    if (waiting === undefined) pending.set(userId, (waiting = []));
    waiting.push({ resolve, reject });
  }));
};

const createSyncReadModel = (
  db: SqlExecutor, recent: RecentEvents | undefined, positionsWithMembershipChanges: SyncReadModel['positionsWithMembershipChanges'],
): SyncReadModel => ({
  positionsWithMembershipChanges,

  async positions() {
    // One statement, so /sync pays one round trip for its starting point. `stream_positions` is
    // the user-data streams' table (infra/userData/streams.ts), in the same database.
    const { rows } = await db.query<PositionRow>(POSITIONS, [ROOMS_PROJECTION_NAME]);
    return positionsOf(rows);
  },

  async stateEvents(roomId, keys) {
    if (keys.length === 0) return [];
    const { rows } = await db.query<EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM room_events WHERE event_id IN (
         SELECT s.event_id FROM room_current_state s JOIN unnest($2::text[], $3::text[]) AS k(type, state_key)
           ON s.type = k.type AND s.state_key = k.state_key
         WHERE s.room_id = $1)`,
      [roomId, keys.map(([type]) => type), keys.map(([, stateKey]) => stateKey)]);
    return hydrate(db, rows);
  },

  async membershipChanges(userId, upTo) {
    const [partitions, nexts] = vector(upTo);
    if (partitions.length === 0) return [];
    const { rows } = await db.query<MembershipRow>(
      membershipSql('$1', 'unnest($2::integer[], $3::bigint[]) AS p(part, next)'), [userId, partitions, nexts]);
    return rows.map(membershipChangeOf);
  },

  // Push rules decide what counts; SQL only narrows the events down (unreadQueries.ts).
  unreadWindow: async (roomId, userId, after, before, withState, limit) => {
    const held = withState ? undefined : recent?.unreadWindow(roomId, userId, after, before, limit);
    return held !== undefined ? { events: held } : unreadWindow(db, roomId, userId, after, before, withState, limit);
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
