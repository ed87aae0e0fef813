/**
 * Rebuilding a ClickHouse projection on demand (`npm run rebuild -- analytics`, with the server
 * stopped): forget every stored position of the projection, empty its tables (materialized views'
 * target tables included: the views fill them again from the rows replayed), and replay every
 * partition from offset 0 to the end offsets seen when the rebuild began.
 *
 * Positions go first and for good (ALTER … DELETE is a mutation that runs in the background:
 * the rebuild waits for it), so a crash part-way leaves no position claiming rows that were
 * emptied; the next start or rebuild resumes from what was stored during the replay, and rows
 * replayed twice collapse on their (partition, offset) key as after any crash.
 */
import { ROOM_EVENTS_TOPIC } from '../../domain/index.ts';
import type { RoomLog } from '../../domain/ports/index.ts';
import { chIdentifier, chString } from './clickhouseLiterals.ts';
import {
  CLICKHOUSE_POSITIONS_TABLE, ensureClickHouseSchema, insertRows, storeClickHousePosition,
  type ClickHouseExecutor, type ClickHouseProjection,
} from './clickhousePositions.ts';
import { RecordFailure } from './failures.ts';
import { replayFromStart, type RebuildProgress } from './replay.ts';
import { createRoomLogContract } from './roomLogContract.ts';

export interface ClickHouseRebuildOptions {
  readonly projection: ClickHouseProjection;
  readonly log: RoomLog;
  readonly clickhouse: ClickHouseExecutor;
  readonly onProgress?: (progress: RebuildProgress) => void;
  /** Entries read and inserted per batch (default 500). */
  readonly maxBatchSize?: number;
  /** How long to wait for the positions' deletion to be carried out (default 5 minutes). */
  readonly mutationTimeoutMs?: number;
}

/** Waits until no mutation of `table` in the current database is left to do. */
const mutationsDone = async (ch: ClickHouseExecutor, table: string, timeoutMs: number): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [row] = await ch.query<{ pending: number | string }>(
      `SELECT count() AS pending FROM system.mutations
       WHERE database = currentDatabase() AND table = ${chString(table)} AND is_done = 0`);
    if (Number(row?.pending ?? 0) === 0) return;
    if (Date.now() > deadline) throw new Error(`ClickHouse has not carried out the deletion of ${table} rows within ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
};

export const rebuildClickHouseProjection = async (options: ClickHouseRebuildOptions): Promise<RebuildProgress> => {
  const { projection, clickhouse: ch } = options;
  await ensureClickHouseSchema(ch, projection);
  // A rebuild reads the room log from offset 0: every chain is checked whole (roomLogContract.ts).
  const contract = projection.topic === ROOM_EVENTS_TOPIC ? createRoomLogContract() : undefined;
  return replayFromStart({
    log: options.log,
    topic: projection.topic,
    name: projection.name,
    before: async () => {
      await ch.exec(`ALTER TABLE ${CLICKHOUSE_POSITIONS_TABLE} DELETE
        WHERE projection = ${chString(projection.name)} AND topic = ${chString(projection.topic)}`);
      await mutationsDone(ch, CLICKHOUSE_POSITIONS_TABLE, options.mutationTimeoutMs ?? 300_000);
      for (const table of projection.tables) await ch.exec(`TRUNCATE TABLE ${chIdentifier(table)}`);
    },
    apply: async (partition, entries) => {
      const violation = contract?.check(partition, entries);
      const applied = violation === undefined ? entries : entries.slice(0, violation.index);
      if (applied.length > 0) {
        await insertRows(ch, projection, applied);
        await storeClickHousePosition(ch, projection, partition, applied[applied.length - 1]!.offset + 1);
      }
      if (violation !== undefined) throw new RecordFailure(entries[violation.index]!, violation.error);
      return applied[applied.length - 1]!.offset + 1;
    },
    ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
    ...(options.maxBatchSize === undefined ? {} : { maxBatchSize: options.maxBatchSize }),
  });
};
