/**
 * Strata's composition root: read the config, open storage, wire the use-cases to their adapters
 * and the HTTP surfaces to the use-cases, serve, and stop cleanly on SIGTERM/SIGINT. Each step
 * registers how to undo itself; runServer undoes them in reverse order on shutdown or failure.
 */
import { createAccounts } from '../domain/app/accounts/index.ts';
import { createAnalytics, type AnalyticsReadModel } from '../domain/app/analytics/index.ts';
import { createRooms, createRoomWriter, type Rooms } from '../domain/app/rooms/index.ts';
import { createInProcessNotifier, createUserData } from '../domain/app/userData/index.ts';
import { ROOM_EVENTS_TOPIC } from '../domain/index.ts';
import { createSharedSecretRegistrationRouter } from '../gateways/admin/index.ts';
import { createAnalyticsRouter } from '../gateways/analytics/index.ts';
import { createAccountsRouter } from '../gateways/client/accounts/index.ts';
import { versionsRouter } from '../gateways/client/index.ts';
import { createRoomsRouter } from '../gateways/client/rooms/index.ts';
import { createUserDataRouter } from '../gateways/client/userData/index.ts';
import { createHttpApp } from '../gateways/http/index.ts';
import { healthRouter, metricsRouter } from '../gateways/ops/index.ts';
import { ANALYTICS_PROJECTION, createClickHouseAnalyticsReadModel, startClickHouseProjection } from '../projections/analytics/index.ts';
import { createRoomQueries, createSqlRoomDirectory, ensureRoomDirectorySchema, roomsProjection } from '../projections/rooms/index.ts';
import { startProjection } from '../projections/runtime/index.ts';
import { loadConfig } from './config/index.ts';
import { createLogger, createMetrics } from './observability/index.ts';
import {
  displayListenAddress, loadOrCreateSigningKey, openClickHouse, openReadModels, openRoomLog, pinServerName, probeDatabase,
  probeLog, recordStart, runServer, startHttpServer,
} from './server/index.ts';
import { createArgon2PasswordHasher, createSqlAccountStore, cryptoRandom, systemClock } from './stores/index.ts';
import { createSqlUserDataStores } from './userData/index.ts';
import { roomMembershipOf } from './wiring/roomMembership.ts';

/** Spec versions whose features work end to end; the lead adds each as it is complete. */
const SUPPORTED_SPEC_VERSIONS: readonly string[] = [];
/** Partitions of the room events topic when this process creates it (fixed once created). */
const ROOM_EVENTS_PARTITIONS = 8;
/** How long in-flight requests may take to finish once shutdown begins. */
const DRAIN_DEADLINE_MS = 10_000;

await runServer(async (lifecycle) => {
  const startedAt = Date.now();
  const config = loadConfig(process.env);
  const logger = lifecycle.useLogger(createLogger({ level: config.logLevel }));
  const metrics = createMetrics();

  // Storage: the embedded log and PGlite unless Kafka / PostgreSQL are configured.
  const { log, kind: logKind, where: logWhere } = await openRoomLog(config, logger);
  lifecycle.onStop('room log', () => log.close());
  const { db, kind: dbKind, where: dbWhere } = await openReadModels(config);
  lifecycle.onStop('database', () => db.close());
  const clickhouse = await openClickHouse(config);
  if (clickhouse !== null) lifecycle.onStop('clickhouse', () => clickhouse.close());
  const mode = logKind === 'embedded' && dbKind === 'pglite' ? 'embedded'
    : logKind === 'kafka' && dbKind === 'postgres' ? 'distributed' : 'mixed';
  logger.info(
    { mode, log: logKind, log_at: logWhere, database: dbKind, database_at: dbWhere, clickhouse: clickhouse !== null },
    `running in ${mode} mode: log ${logKind} (${logWhere}), database ${dbKind} (${dbWhere}), `
      + `clickhouse ${clickhouse === null ? 'not configured' : clickhouse.database}`,
  );

  await pinServerName(db, config.serverName, dbWhere);
  await recordStart(log, config.serverName, startedAt);
  const signingKey = await loadOrCreateSigningKey(db, config.serverName);
  await log.ensureTopic(ROOM_EVENTS_TOPIC, ROOM_EVENTS_PARTITIONS);

  // Rooms: the rooms projection (read side) and the single room writer (write side).
  const roomsRun = await startProjection({ projection: roomsProjection, log, db, metrics, logger: logger.child({ subsystem: 'rooms projection' }) });
  lifecycle.onStop('rooms projection', () => roomsRun.stop());
  await ensureRoomDirectorySchema(db);
  const roomQueries = createRoomQueries(db);
  const writer = createRoomWriter({ log, readModel: roomQueries, projection: roomsRun, keys: { current: () => signingKey }, now: () => Date.now() });

  // Accounts, user data and rooms call each other through hooks: profile changes update membership
  // events, deleted devices lose their keys and queued to-device messages.
  const notifier = createInProcessNotifier();
  const accountStore = await createSqlAccountStore(db);
  const userData = createUserData({
    stores: await createSqlUserDataStores(db),
    notifier,
    membership: roomMembershipOf(roomQueries),
    devices: accountStore,
    clock: systemClock,
    serverName: config.serverName,
  });
  lifecycle.onStop('typing timeouts', async () => userData.close());
  const late: { rooms?: Rooms } = {};
  const accounts = createAccounts({
    store: accountStore,
    hasher: createArgon2PasswordHasher(),
    clock: systemClock,
    random: cryptoRandom,
    serverName: config.serverName,
    registration: config.registration,
    ...(config.registrationSharedSecret === undefined ? {} : { registrationSharedSecret: config.registrationSharedSecret }),
    onProfileChanged: async (userId, profile) => {
      await late.rooms?.onProfileChanged(userId, profile);
    },
    onDevicesDeleted: async (userId, deviceIds) => {
      for (const deviceId of deviceIds) await userData.onDeviceDeleted(userId, deviceId);
    },
  });
  const rooms = createRooms({
    serverName: config.serverName,
    writer,
    rooms: roomQueries,
    directory: createSqlRoomDirectory(db),
    profiles: accountStore,
    clock: systemClock,
    random: cryptoRandom,
  });
  late.rooms = rooms;

  // Analytics: the ClickHouse metadata view and its admin API (501 without ClickHouse).
  let analyticsReadModel: AnalyticsReadModel | null = null;
  if (clickhouse !== null) {
    const analyticsRun = await startClickHouseProjection({
      projection: ANALYTICS_PROJECTION, log, clickhouse, metrics, logger: logger.child({ subsystem: 'analytics' }),
    });
    lifecycle.onStop('analytics projection', () => analyticsRun.stop());
    analyticsReadModel = createClickHouseAnalyticsReadModel(clickhouse);
  }
  const analytics = createAnalytics({ readModel: analyticsReadModel, users: accountStore });

  const app = createHttpApp({
    logger,
    metrics,
    routers: [
      versionsRouter({ versions: SUPPORTED_SPEC_VERSIONS }),
      healthRouter({
        checks: {
          log: () => probeLog(log),
          database: () => probeDatabase(db),
          clickhouse: clickhouse === null ? null : async () => {
            if (!(await clickhouse.ping())) throw new Error('ClickHouse did not answer /ping');
          },
        },
      }),
      metricsRouter(metrics),
      createAccountsRouter({ accounts, rateLimits: config.rateLimits }),
      createSharedSecretRegistrationRouter(accounts),
      createRoomsRouter({ rooms, accounts }),
      createUserDataRouter({ userData, accounts }),
      createAnalyticsRouter({ analytics, accounts }),
    ],
  });
  const http = await startHttpServer(app.callback(), config.listen);
  lifecycle.onStop('http server', () => http.close(DRAIN_DEADLINE_MS));
  logger.info(
    { listen: displayListenAddress(http.address), server_name: config.serverName },
    `listening on http://${displayListenAddress(http.address)} as ${config.serverName}`,
  );
});
