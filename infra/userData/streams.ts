/**
 * Stream positions. Concurrent transactions can commit out of order, so a position taken from a
 * sequence alone could become visible before a smaller one. Each writer therefore takes the
 * stream's transaction-scoped advisory lock first: writers of one stream commit in position order,
 * and the position recorded in `stream_positions` (same transaction) is never ahead of its rows.
 */
import type { SqlDatabase, SqlExecutor, SqlResult, SqlStatement, UserDataPositions } from '../../domain/index.ts';

export const STREAMS = ['account_data', 'receipts', 'to_device', 'device_lists', 'presence'] as const;
export type StreamName = (typeof STREAMS)[number];

/** Serialises the writers of `stream` until the transaction ends. */
export const lockStream = async (tx: SqlExecutor, stream: StreamName): Promise<void> => {
  await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`strata.stream.${stream}`]);
};

/** The next position of `stream`; call after `lockStream`, then `recordPosition` with the last one used. */
export const nextPosition = async (tx: SqlExecutor, stream: StreamName): Promise<number> => {
  const { rows } = await tx.query<{ pos: number }>(`SELECT nextval('${stream}_stream_seq') AS pos`);
  return Number(rows[0]!.pos);
};

export const recordPosition = async (tx: SqlExecutor, stream: StreamName, position: number): Promise<void> => {
  await tx.query(
    `INSERT INTO stream_positions (stream, position) VALUES ($1, $2)
     ON CONFLICT (stream) DO UPDATE SET position = GREATEST(stream_positions.position, EXCLUDED.position)`,
    [stream, position],
  );
};

/** The positions a stream write's statements use, as SQL: the stream's sequence in this session. */
export interface StreamPositionSql {
  /** A new position (one per row it is evaluated for). */
  readonly next: string;
  /** The last position taken. */
  readonly last: string;
}

/**
 * Writes entries of `stream`, each at a new position, and answers the last position with the
 * entries' results. `entries` are the writing statements; they take positions as `next`. The lock,
 * the entries, the stream's position and COMMIT leave together where the database pipelines a
 * transaction, so the lock is held for the statements' own time, not across round trips to this
 * process: a burst of writers (every syncing user's presence at once) passes in a few
 * milliseconds instead of queueing behind one another's round trips while holding the transaction
 * connections the projections commit on. The entries must take at least one position.
 */
export const writeToStream = async (
  db: SqlDatabase, stream: StreamName, entries: (position: StreamPositionSql) => readonly SqlStatement[],
): Promise<{ readonly position: number; readonly results: readonly SqlResult[] }> => {
  const sequence = `'${stream}_stream_seq'`;
  const written = entries({ next: `nextval(${sequence})`, last: `currval(${sequence})` });
  const statements: SqlStatement[] = [
    { text: 'SELECT pg_advisory_xact_lock(hashtext($1))', values: [`strata.stream.${stream}`] },
    ...written,
    {
      text: `INSERT INTO stream_positions (stream, position) VALUES ($1, currval(${sequence}))
             ON CONFLICT (stream) DO UPDATE SET position = GREATEST(stream_positions.position, EXCLUDED.position)
             RETURNING currval(${sequence}) AS last`,
      values: [stream],
    },
  ];
  const results = db.transactionOf !== undefined
    ? await db.transactionOf(statements)
    : await db.transaction(async (tx) => {
      const answers: SqlResult[] = [];
      for (const statement of statements) answers.push(await tx.query(statement.text, statement.values));
      return answers;
    });
  const last = results[results.length - 1]!.rows[0] as { last: number };
  return { position: Number(last.last), results: results.slice(1, -1) };
};

export const currentPosition = async (tx: SqlExecutor, stream: StreamName): Promise<number> => {
  const { rows } = await tx.query<{ position: number }>('SELECT position FROM stream_positions WHERE stream = $1', [stream]);
  return rows[0] === undefined ? 0 : Number(rows[0].position);
};

/**
 * Every stream's position in one statement (one snapshot): each is the same as `currentPosition`
 * would have read, so the ordering guarantee above holds for all of them. /sync reads these rows
 * together with the rooms projection's positions, in the same statement
 * (projections/rooms/syncQueries.ts `positions`); a stream renamed here must be renamed there.
 */
export const currentPositions = async (db: SqlExecutor): Promise<UserDataPositions> => {
  const { rows } = await db.query<{ stream: string; position: number }>('SELECT stream, position FROM stream_positions');
  const of = (stream: StreamName): number => Number(rows.find((row) => row.stream === stream)?.position ?? 0);
  return {
    accountData: of('account_data'), receipts: of('receipts'), toDevice: of('to_device'),
    deviceLists: of('device_lists'), presence: of('presence'),
  };
};

/** One entry of the device-list stream: `userId`'s devices or keys changed. */
export const recordDeviceListChange = async (tx: SqlExecutor, userId: string): Promise<number> => {
  await lockStream(tx, 'device_lists');
  const position = await nextPosition(tx, 'device_lists');
  await tx.query('INSERT INTO device_list_changes (stream_pos, user_id) VALUES ($1, $2)', [position, userId]);
  await recordPosition(tx, 'device_lists', position);
  return position;
};
