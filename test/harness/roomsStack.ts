/**
 * Test fixtures: the rooms stack on the embedded log and PGlite (or a given database) — projection
 * running, queries, directory, writer and use-cases — as one process would wire them.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ROOM_EVENTS_TOPIC, signingKeyFromSeed, type RoomLog, type SqlDatabase } from '../../domain/index.ts';
import {
  createRooms, createRoomWriter, type ProfileReader, type ProjectionWaiter, type RoomDirectory, type RoomReadModel,
  type RoomWriter, type Rooms,
} from '../../domain/app/rooms/index.ts';
import { createEmbeddedLog } from '../../infra/embedded/index.ts';
import { createPgliteDatabase } from '../../infra/pglite/index.ts';
import { cryptoRandom, systemClock } from '../../infra/stores/index.ts';
import { applyingAppended, startProjection, type RunningProjection } from '../../projections/runtime/index.ts';
import {
  createRecentEvents, createRoomQueries, createSqlRoomDirectory, ensureRoomDirectorySchema, roomsProjection, type RecentEvents,
} from '../../projections/rooms/index.ts';

export const TEST_PARTITIONS = 4;

export interface RoomsStack {
  readonly log: RoomLog;
  readonly db: SqlDatabase;
  readonly projection: RunningProjection;
  readonly queries: RoomReadModel;
  readonly directory: RoomDirectory;
  readonly writer: RoomWriter;
  readonly rooms: Rooms;
  /** The newest events as the projection committed them (projections/rooms/recentEvents.ts); `queries` reads SQL only. */
  readonly recent: RecentEvents;
  /** Stops the projection; closes the log and database only when the stack opened them. */
  close(): Promise<void>;
}

export interface RoomsStackOptions {
  readonly serverName?: string;
  /** An open log / database to reuse (e.g. to simulate a restart); else fresh ones in `dir`. */
  readonly log?: RoomLog;
  readonly db?: SqlDatabase;
  readonly dir?: string;
  readonly profiles?: ProfileReader;
  /** Replaces the projection's wait (to simulate a lagging projection). */
  readonly waiter?: ProjectionWaiter;
  readonly transactionsReadPerDevice?: number;
  /** A room's appends in flight at once (RoomWriterOptions.appendsInFlight). */
  readonly appendsInFlight?: 1 | 2;
  /** The writer's clock (default: the system's). */
  readonly now?: () => number;
}

export const testSigningKey = (serverName: string) => signingKeyFromSeed(serverName, 'ed25519:test', new Uint8Array(32).fill(7));

export const startRoomsStack = async (options: RoomsStackOptions = {}): Promise<RoomsStack> => {
  const serverName = options.serverName ?? 'example.org';
  const dir = options.dir ?? (await mkdtemp(path.join(tmpdir(), 'strata-rooms-')));
  const log = options.log ?? (await createEmbeddedLog({ dir: path.join(dir, 'log') }));
  await log.ensureTopic(ROOM_EVENTS_TOPIC, TEST_PARTITIONS);
  const db = options.db ?? (await createPgliteDatabase({ dir: path.join(dir, 'db') }));
  await ensureRoomDirectorySchema(db);
  const recent = createRecentEvents();
  const projection = await startProjection({ projection: roomsProjection, log, db, onApplied: (batch) => recent.observe(batch) });
  const queries = createRoomQueries(db);
  const directory = createSqlRoomDirectory(db);
  const key = testSigningKey(serverName);
  const writer = createRoomWriter({
    // As infra/strata.ts wires it; a simulated lagging projection gets no fast path.
    log: options.waiter === undefined ? applyingAppended(log, [projection], ROOM_EVENTS_TOPIC) : log, readModel: queries, directory, projection: options.waiter ?? projection, keys: { current: () => key }, now: options.now ?? (() => Date.now()),
    projectionTimeoutMs: options.waiter === undefined ? 10_000 : 50,
    ...(options.transactionsReadPerDevice === undefined ? {} : { transactionsReadPerDevice: options.transactionsReadPerDevice }),
    ...(options.appendsInFlight === undefined ? {} : { appendsInFlight: options.appendsInFlight }),
  });
  const rooms = createRooms({
    serverName, writer, rooms: queries, directory, clock: systemClock, random: cryptoRandom,
    profiles: options.profiles ?? { getProfile: async () => undefined },
  });
  return {
    log, db, projection, queries, directory, writer, rooms, recent,
    close: async () => {
      await projection.stop();
      if (options.log === undefined) await log.close();
      if (options.db === undefined) await db.close();
      if (options.dir === undefined) await rm(dir, { recursive: true, force: true });
    },
  };
};
