/**
 * Strata's composition root: read the config, open storage, wire the HTTP surfaces, serve, and stop
 * cleanly on SIGTERM/SIGINT. Each step registers how to undo itself; runServer undoes them in
 * reverse order on shutdown or on a start-up failure.
 */
import { createAccounts } from '../domain/app/accounts/index.ts';
import { createSharedSecretRegistrationRouter } from '../gateways/admin/index.ts';
import { createAnalytics, type AnalyticsReadModel } from '../domain/app/analytics/index.ts';
import { ROOM_EVENTS_TOPIC } from '../domain/index.ts';
import { createAnalyticsRouter } from '../gateways/analytics/index.ts';
import { ANALYTICS_PROJECTION, createClickHouseAnalyticsReadModel, startClickHouseProjection } from '../projections/analytics/index.ts';
import { createAccountsRouter } from '../gateways/client/accounts/index.ts';
import { versionsRouter } from '../gateways/client/index.ts';
import { createHttpApp } from '../gateways/http/index.ts';
import { healthRouter, metricsRouter } from '../gateways/ops/index.ts';
import { loadConfig } from './config/index.ts';
import { createLogger, createMetrics } from './observability/index.ts';
import { createArgon2PasswordHasher, createSqlAccountStore, cryptoRandom, systemClock } from './stores/index.ts';
import {
  displayListenAddress, openClickHouse, openReadModels, openRoomLog, pinServerName, probeDatabase, probeLog,
  recordStart, runServer, startHttpServer,
} from './server/index.ts';

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

  const accountStore = await createSqlAccountStore(db);
  const accounts = createAccounts({
    store: accountStore,
    hasher: createArgon2PasswordHasher(),
    clock: systemClock,
    random: cryptoRandom,
    serverName: config.serverName,
    registration: config.registration,
    ...(config.registrationSharedSecret === undefined ? {} : { registrationSharedSecret: config.registrationSharedSecret }),
  });

  // Analytics (issue 2): the ClickHouse metadata view and its admin API, which answers 501 without ClickHouse.
  let analyticsReadModel: AnalyticsReadModel | null = null;
  if (clickhouse !== null) {
    await log.ensureTopic(ROOM_EVENTS_TOPIC, ROOM_EVENTS_PARTITIONS);
    const analyticsProjection = await startClickHouseProjection({
      projection: ANALYTICS_PROJECTION, log, clickhouse, metrics, logger: logger.child({ subsystem: 'analytics' }),
    });
    lifecycle.onStop('analytics projection', () => analyticsProjection.stop());
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
