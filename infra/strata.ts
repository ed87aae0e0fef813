/**
 * Strata's composition root: open storage, wire the use-cases to their adapters and the HTTP
 * surfaces to the use-cases, and serve. Each step registers how to undo itself with the lifecycle,
 * which undoes them in reverse order. `infra/main.ts` runs it as a process; tests run it in-process.
 */
import { createAccounts, withSuspensionGuard, type ThreePidServices } from '../domain/app/accounts/index.ts';
import { ExchangeFailed, type ThirdPartyInvitesContext } from '../domain/app/thirdPartyInvites/index.ts';
import {
  createAnalystAccess, createAnalytics, createAnalyticsCountersFeed, type AnalyticsCountersFeed, type AnalyticsReadModel,
} from '../domain/app/analytics/index.ts';
import { createBackfill, createFederationRooms, createServerAclGuard } from '../domain/app/federation/index.ts';
import { DEFAULT_BACKOFF } from '../domain/app/federation/sender/index.ts';
import { createEduReceiver, type EduReceiver } from '../domain/app/federation/edus/index.ts';
import type { FederationOutbox } from '../domain/ports/index.ts';
import {
  accountDataPreferences, createRoomModules, createRooms, createRoomWriter, withGuestRemoval, type Rooms,
} from '../domain/app/rooms/index.ts';
import { MatrixError } from '../domain/index.ts';
import { createLegacySync, createSync, roomWakeKeys, type SyncContext, type SyncService } from '../domain/app/sync/index.ts';
import { createSlidingSync, type SlidingSyncService } from '../domain/app/sync/sliding/index.ts';
import { createSearch } from '../domain/app/search/index.ts';
import { createInProcessNotifier, createUserData, withPresenceActivity, type PresenceTimers } from '../domain/app/userData/index.ts';
import { BoundedMap, ROOM_EVENTS_TOPIC } from '../domain/index.ts';
import { pushBadge, type PushSenderContext } from '../domain/app/pushGateway/index.ts';
import { loadDashboardFiles } from '../gateways/analytics/index.ts';
import { startContentRepository } from './media/index.ts';
import { createHttpApp, routeTable } from '../gateways/http/index.ts';
import { metricsRouter } from '../gateways/ops/index.ts';
import { createAnalyticsCounterSockets, createUserEventSockets, type EventSocketLimits, type SocketLimits } from '../gateways/ws/index.ts';
import {
  analyticsProjection, createClickHouseAnalyticsReadModel, createClickHouseCountersReadModel, startClickHouseProjection,
} from '../projections/analytics/index.ts';
import {
  createRecentEvents, createRoomQueries, createSqlRoomDirectory, createSqlRoomMembership, createSqlRoomServers, createSyncQueries, ensureRoomDirectorySchema, ensureSyncIndexes,
  roomsProjection,
  createRelationQueries, createSlidingRoomQueries, createSqlContentReports, createSqlUserDirectory, ensureContentReportsSchema, ensureRelationIndexes,
  createBackfillQueries, createRoomEventGraph,
} from '../projections/rooms/index.ts';
import { createSearchQueries, searchProjectionFor } from '../projections/search/index.ts';
import {
  applyingAppended, caughtUpWith, createSupervisor, refusingAppendsWhileStopped, startProjection, waitWhileRunning,
} from '../projections/runtime/index.ts';
import type { StrataConfig } from './config/index.ts';
import { createFederationClient } from './federation/client/index.ts';
import { registrationStages } from './registration/index.ts';
import { startFederationSender } from './federation/sender/index.ts';
import { createAppserviceClient } from './appservices/index.ts';
import { createAppserviceEphemeral, startAppserviceSender, tapNotifier } from './appservices/sender/index.ts';
import { createAppservices } from '../domain/app/appservices/index.ts';
import { createRemoteServers } from './federation/remoteServers.ts';
import { createRemoteRooms } from './federation/remoteRooms.ts';
import { createRemoteKeyRing, ensureRemoteServerKeysSchema, fetchThroughClient, type FetchFederationJson } from './federation/keys/index.ts';
import { createMetrics } from './observability/index.ts';
import { httpRouters } from './httpRouters.ts';
import { serverServerApiRouters } from './serverServerApi.ts';
import { createErasure, withContentKeyBindings } from './erasure/index.ts';
import {
  displayListenAddress, loadServerSigningKeys, openClickHouse, openReadModels, openRoomLog, pinServerName, probeDatabase,
  probeLog, recordStart, serveWebSocketUpgrades, countersPollMetrics, startFederationListener, startHttpServer, webSocketMetrics, type ServerLifecycle,
} from './server/index.ts';
import type { Logger } from 'pino';
import { createSqlThreePidStore } from './stores/index.ts';
import { createSmtpMailer } from './mail/index.ts';
import { createIdentityServers } from './identity/index.ts';
import { createArgon2PasswordHasher, createSqlAccountStore, cryptoRandom, systemClock, withAccessTokenCache } from './stores/index.ts';
import { createSqlUserDataStores } from './userData/index.ts';
import { createPushGatewayClient, createPusherUsers, startPushSender } from './pushGateway/index.ts';

/** Partitions of the room events topic when this process creates it (fixed once created). */
const ROOM_EVENTS_PARTITIONS = 8;
/** A search waits at most this long for the search projection to hold what the rooms projection does. */
const SEARCH_CATCH_UP_MS = 2_000;
/** How long in-flight requests may take to finish once shutdown begins. */
const DRAIN_DEADLINE_MS = 10_000;
/** Pushers whose last badge is remembered; one forgotten gets a badge update it may not need. */
const PUSHERS_WITH_KNOWN_BADGES = 100_000;

export interface StartedStrata {
  /** Where the HTTP listener ended up (port 0 in the config picks a free port). */
  readonly address: string;
  /** Where the metrics listener ended up; undefined when none is configured. */
  readonly metricsAddress?: string;
  /** Where the TLS (federation) listener ended up; undefined when none is configured. */
  readonly federationAddress?: string;
  /** Applies the EDUs of inbound federation transactions (what the `/send` route hands on; tests call it directly). */
  readonly edus: EduReceiver;
  /** Every `METHOD path-template` the HTTP listener serves (tests walk it). */
  readonly routes: readonly string[];
}

/** What the configuration does not say: settings tests change (the same composition otherwise). */
export interface StrataOptions {
  /** Presence idle/offline timers; Synapse's by default (tests shorten them). */
  readonly presenceTimers?: PresenceTimers;
  /**
   * How the key ring GETs a path on another server; the outbound federation client by default.
   * Tests map server names to loopback HTTP servers.
   */
  readonly federationFetch?: FetchFederationJson;
  /** Where EDUs for other servers go; absent: the federation sender's (tests record them). */
  readonly federationOutbox?: FederationOutbox;
  /** Bounds of the user event WebSockets (gateways/ws); tests shorten heartbeats and buffers. */
  readonly eventSockets?: Partial<EventSocketLimits>;
  /** Bounds of the analytics counter WebSockets; tests lower the number of sockets. */
  readonly analyticsSockets?: Partial<SocketLimits>;
}

export const startStrata = async (
  config: StrataConfig, logger: Logger, lifecycle: Pick<ServerLifecycle, 'onStop'>, options: StrataOptions = {},
): Promise<StartedStrata> => {
  const startedAt = Date.now();
  const metrics = createMetrics();
  // Every log consumer runs under this one supervisor: transient failures are retried, a poison
  // record stops its consumer alone, reported in /health and /metrics (projections/runtime/supervisor.ts).
  const supervisor = createSupervisor({ logger: logger.child({ subsystem: 'supervisor' }), metrics });

  // Storage: the embedded log and PGlite unless Kafka / PostgreSQL are configured.
  const { log: plainLog, kind: logKind, where: logWhere, lease: writerLease } = await openRoomLog(config, logger);
  lifecycle.onStop('room log', () => plainLog.close());
  const { db, kind: dbKind, where: dbWhere } = await openReadModels(config);
  lifecycle.onStop('database', () => db.close());
  // The newest events of busy rooms, held as the rooms projection commits them: most /sync reads
  // are answered from them (projections/rooms/recentEvents.ts). Erasure forgets what it rewrites.
  const recentEvents = createRecentEvents();
  // Event content is sealed in the log under keys that erasure destroys; the keys live in the
  // database beside the read models (docs/erasure.md).
  const erasure = await createErasure({
    db, recentEvents, topic: ROOM_EVENTS_TOPIC, redactionRetentionMs: config.redactionRetentionMs, retention: config.retention,
    now: () => systemClock.now(), logger: logger.child({ subsystem: 'erasure' }),
  });
  const log = erasure.seal(plainLog);
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
  const serverKeys = await loadServerSigningKeys(db, config.serverName,
    config.federation.signingKeyPath === undefined ? {} : { signingKeyPath: config.federation.signingKeyPath });
  const signingKey = serverKeys.current;
  await ensureRemoteServerKeysSchema(db);
  const federationClient = createFederationClient({
    serverName: config.serverName, signingKey, verifyCertificates: config.federation.verifyCertificates,
    ipRangeWhitelist: config.federation.ipRangeWhitelist,
    ...(config.federation.domainWhitelist === undefined ? {} : { domainWhitelist: config.federation.domainWhitelist }),
  });
  lifecycle.onStop('federation client', async () => federationClient.close());
  const keyRing = createRemoteKeyRing({
    db, ownKeys: () => serverKeys, logger: logger.child({ subsystem: 'key ring' }),
    trustedKeyServers: config.federation.trustedKeyServers.map((serverName) => ({ serverName })),
    fetchJson: options.federationFetch ?? fetchThroughClient(federationClient),
  });
  // Profiles, aliases, E2EE keys and room lists of other servers, for our clients (infra/federation/remoteServers.ts).
  const remoteServers = createRemoteServers({ client: federationClient });
  await log.ensureTopic(ROOM_EVENTS_TOPIC, ROOM_EVENTS_PARTITIONS);

  // Rooms: the rooms projection (read side, waking long-polling /sync requests as it applies
  // batches) and the single room writer (write side).
  // Tapped: the appservice sender hears which users and rooms have news for bridges (below).
  const notifierTap = tapNotifier(createInProcessNotifier());
  const notifier = notifierTap.notifier;
  // The rooms projection gets this process's appends handed to it (the writer's log, below), and the
  // writer is the only one appending room events (the writer lease), so its consumer only fills in
  // what a local application declined (at start-up, while it catches up) and fetches in the
  // background: a few fetches a second instead of twenty; each committed batch fills the held
  // newest events before anyone is woken.
  const roomsRun = await startProjection({
    // It also binds each record's content key to its event (erasure.md).
    projection: withContentKeyBindings(roomsProjection), log, db, metrics, supervisor, logger: logger.child({ subsystem: 'rooms projection' }),
    latency: 'background',
    onApplied: (batch) => {
      recentEvents.observe(batch);
      notifier.notify(roomWakeKeys(batch.entries));
    },
  });
  lifecycle.onStop('rooms projection', () => roomsRun.stop());
  // Search: the full-text projection of the room log (projections/search), read with the
  // searcher's history visibility and ignored users (domain/app/search, below).
  const searchRun = await startProjection({
    projection: searchProjectionFor(config.searchLanguage), log, db, metrics, supervisor, latency: 'soon',
    logger: logger.child({ subsystem: 'search projection' }),
  });
  lifecycle.onStop('search projection', () => searchRun.stop());
  await ensureRoomDirectorySchema(db);
  await ensureSyncIndexes(db);
  await ensureRelationIndexes(db);
  await ensureContentReportsSchema(db);
  lifecycle.onStop('erasure sweepers', await erasure.startSweepers());
  const roomQueries = createRoomQueries(db, recentEvents);
  const membership = createSqlRoomMembership(db);
  const roomServers = createSqlRoomServers(db);
  const roomEvents = createRoomEventGraph(db);
  const serverAcl = createServerAclGuard(roomQueries);
  const directory = createSqlRoomDirectory(db);
  // The writer hands what it appends straight to the rooms projection
  // (projections/runtime/appendedLocally.ts), on every send's path to /sync. The search projection
  // takes the log's batches instead (tens of messages per transaction under load, not one or two,
  // for a third fewer statements); a search first waits for it to hold what /sync shows (below).
  // While the rooms projection is stopped, sends are refused before they reach the log: their
  // read-your-writes wait could never end.
  const writerLog = refusingAppendsWhileStopped(
    applyingAppended(log, [roomsRun], ROOM_EVENTS_TOPIC), supervisor, roomsRun.name, ROOM_EVENTS_TOPIC,
  );
  // Whether a local user is a guest (`allow_guest_access`); the account store is opened below, before any room is written.
  const isGuest = async (userId: string): Promise<boolean> => (await accountStore.getUser(userId))?.isGuest === true;
  // Invite permission comes from account data (`preferences`, built below once user data exists); the
  // decider judges it on every invite the writer appends. Guests leave a room whose guest access
  // ends, whether this server or another changed it (domain/app/rooms/guests.ts).
  const writer = withGuestRemoval(createRoomWriter({
    log: writerLog, readModel: roomQueries, directory, invitePermission: { blocksInvites: (userId) => preferences.blocksInvites(userId) },
    // Guests (`allow_guest_access`) may join only rooms open to them: the decider judges each join.
    guests: { isGuest },
    projection: roomsRun, keys: { current: () => signingKey }, now: () => Date.now(),
    // A room's next content keys go in on a pooled connection while its previous append is written.
    appendsInFlight: dbKind === 'postgres' ? 2 : 1,
    // Remote events are checked against the DAG the read model holds and keys the key ring vouches for.
    remote: { graph: roomEvents, keyRing, awaitingRedactions: (roomId, eventIds) => roomQueries.awaitingRedactions(roomId, eventIds) },
    onSendStage: (stage, seconds) => metrics.observeSendStage(stage, seconds),
  }), config.serverName, isGuest);
  // The federation sender: a room log consumer delivering our events and queued EDUs to other
  // servers (infra/federation/sender/). `wake` is for whoever hears from a server that was down.
  const federationSender = await startFederationSender({
    serverName: config.serverName, topic: ROOM_EVENTS_TOPIC, log, db, rooms: roomQueries, roomsProjection: roomsRun,
    client: federationClient, supervisor, metrics, registry: metrics.registry, logger: logger.child({ subsystem: 'federation sender' }),
    // Nothing leaves before our listeners can answer what the remotes ask back (opened below).
    held: true,
    backoff: {
      startMs: config.federation.senderBackoffStartMs ?? DEFAULT_BACKOFF.startMs,
      maxMs: config.federation.senderBackoffMaxMs ?? DEFAULT_BACKOFF.maxMs,
    },
  });
  lifecycle.onStop('federation sender', () => federationSender.stop());

  // Accounts, user data and rooms call each other through hooks: profile changes update membership
  // events, deleted devices lose their keys and queued to-device messages.
  const accountStore = withAccessTokenCache(await createSqlAccountStore(db), { now: () => systemClock.now() });
  const sqlUserDataStores = await createSqlUserDataStores(db);
  // The push sender remembers who has pushers; changes made here reach it at once.
  const pusherUsers = createPusherUsers(sqlUserDataStores.pushers);
  const userDataStores = { ...sqlUserDataStores, pushers: pusherUsers.tracking(sqlUserDataStores.pushers) };
  // EDUs for other servers (typing, receipts, presence, device lists, to-device): the federation
  // sender, unless a test records them.
  const federationOutbox: FederationOutbox = options.federationOutbox ?? federationSender;
  const userData = createUserData({
    ...(options.presenceTimers === undefined ? {} : { presenceTimers: options.presenceTimers }),
    // Users can change their 3PIDs only when addresses can be validated.
    capabilities: { threePidChanges: config.email !== undefined },
    federation: { outbox: federationOutbox, rooms: roomServers },
    stores: userDataStores,
    notifier,
    membership,
    devices: accountStore,
    clock: systemClock,
    serverName: config.serverName,
    remoteServers,
    // A read receipt may lower the user's badge: their push gateways hear of it (push sender, below).
    onReadReceipt: (userId) => late.pushBadge?.(userId),
  });
  lifecycle.onStop('typing timeouts', async () => userData.close());
  // Inbound EDUs (domain/app/federation/edus/), for the transaction route.
  const eduReceiver = createEduReceiver({
    serverName: config.serverName, membership, rooms: roomServers, userData: userData.remote, clock: systemClock, acl: serverAcl,
    log: logger.child({ subsystem: 'federation edus' }),
  });
  // Users stored as present when the last process stopped get their idle/offline timers back.
  await userData.presence.resume();
  const late: { rooms?: Rooms; sync?: SyncService; slidingSync?: SlidingSyncService; pushBadge?: (userId: string) => void } = {};
  // Third-party ids: validation mails over SMTP when `email:` is set, trusted identity servers.
  const mailer = config.email === undefined ? undefined : createSmtpMailer(config.email);
  if (mailer !== undefined) lifecycle.onStop('mailer', async () => mailer.close());
  const identityServers = createIdentityServers({
    signingKey, verifyCertificates: config.federation.verifyCertificates, ipRangeWhitelist: config.federation.ipRangeWhitelist,
  });
  lifecycle.onStop('identity servers', async () => identityServers.close());
  // Application services (bridges): their registrations (config.appservices) and the client that calls them.
  const appserviceClient = createAppserviceClient();
  lifecycle.onStop('application service client', async () => appserviceClient.close());
  // The appservice sender: a room log consumer queueing for each bridge the events it is interested
  // in, with ephemeral data and to-device for those that opted in (infra/appservices/sender/).
  const appserviceSender = await startAppserviceSender({
    serverName: config.serverName, topic: ROOM_EVENTS_TOPIC, log, db, registrations: config.appservices, client: appserviceClient,
    rooms: roomQueries, directory, roomsProjection: roomsRun, supervisor, metrics, registry: metrics.registry,
    logger: logger.child({ subsystem: 'appservice sender' }),
    // Bridges call back when they get a transaction: nothing leaves before our listeners are bound (opened below).
    held: true,
    extras: await createAppserviceEphemeral({
      db, serverName: config.serverName, registrations: config.appservices, tap: notifierTap,
      currentPositions: () => sqlUserDataStores.currentPositions(), typing: userData.streams.typing, membership, rooms: roomQueries, directory,
      devices: accountStore, keyCounts: (userId, deviceId) => userData.streams.keyCounts(userId, deviceId),
    }),
  });
  lifecycle.onStop('appservice sender', () => appserviceSender.stop());
  // What clients ask of bridges: ping, third-party lookups, network lists, queries on unknown ids.
  // A bridge that answers a ping gets what waits for it at once.
  const appservices = createAppservices({
    serverName: config.serverName, registrations: config.appservices, client: appserviceClient, directory, clock: { now: () => performance.now() },
    onReachable: (appserviceId) => appserviceSender.wake(appserviceId),
  });
  const bridgeQueries = config.appservices.length === 0 ? undefined : appservices;
  const threePids: ThreePidServices = {
    store: await createSqlThreePidStore(db),
    ...(mailer === undefined || config.email === undefined ? {} : {
      email: {
        mailer, tokenLifetimeMs: config.email.validationTokenLifetimeMs,
        publicBaseUrl: () => config.publicBaseUrl ?? `http://${listening}`,
        ...(config.email.clientBaseUrl === undefined ? {} : { clientBaseUrl: config.email.clientBaseUrl }),
      },
    }),
    trustedIdServers: config.trustedIdServers,
    identityServers,
  };
  // Registration's captcha and terms stages, and the policy page (`/_matrix/consent`).
  const stages = registrationStages(config, logger, () => config.publicBaseUrl ?? `http://${listening}`);
  const accounts = createAccounts({
    ...stages.context,
    threePids,
    store: accountStore,
    hasher: createArgon2PasswordHasher(),
    clock: systemClock,
    random: cryptoRandom,
    serverName: config.serverName,
    remoteServers,
    ...(bridgeQueries === undefined ? {} : { bridgeQueries }),
    registration: config.registration,
    allowGuestAccess: config.allowGuestAccess,
    appservices: config.appservices,
    ...(config.registrationSharedSecret === undefined ? {} : { registrationSharedSecret: config.registrationSharedSecret }),
    onProfileChanged: async (userId, profile) => {
      await late.rooms?.onProfileChanged(userId, profile);
    },
    onDevicesDeleted: async (userId, deviceIds) => {
      for (const deviceId of deviceIds) {
        await userData.onDeviceDeleted(userId, deviceId);
        late.slidingSync?.forgetDevice(userId, deviceId);
      }
    },
    onDeviceChanged: (userId, deviceId) => userData.onDeviceChanged(userId, deviceId),
    // A deactivated account leaves (or rejects) every room it is in, then loses its pushers.
    onAccountDeactivated: async (userId) => {
      for (const roomId of await roomQueries.roomsWithMembership(userId, ['join', 'invite', 'knock'])) {
        // One room refusing the leave (e.g. a broken room) must not keep the account in the others.
        await late.rooms?.leave({ userId, deviceId: '' }, roomId).catch((error: unknown) => {
          logger.warn({ err: error, user_id: userId, room_id: roomId }, 'deactivated account could not leave a room');
        });
      }
      await userData.onAccountDeactivated(userId);
    },
    onAccountErased: async (userId) => {
      const erased = await erasure.eraseUser(userId);
      late.sync?.forgetUser(userId);
      late.slidingSync?.forgetUser(userId);
      logger.info({ user_id: userId, keys_destroyed: erased.keysDestroyed, events_stripped: erased.eventsStripped }, 'erased a deactivated account\'s content');
    },
  });
  // Each bridge's sender exists before the bridge first acts (Synapse registers them at start-up).
  await accounts.registerAppserviceSenders();
  // The content repository (infra/media/contentRepository.ts): media, thumbnails, URL previews and their sweeps.
  const { media, mediaAdmin, thumbnails, urlPreviews } = await startContentRepository({
    config, db, federationClient, isAdmin: (userId) => accounts.isAdmin(userId), logger, lifecycle,
  });
  // Room use-cases write through a writer that refuses a suspended account's writes (§ Account suspension).
  // Every event a user sends is presence activity (Synapse bumps it for each).
  const guardedWriter = withPresenceActivity(withSuspensionGuard(writer, {
    isSuspended: (userId) => accounts.isSuspended(userId),
    eventSender: async (eventId) => (await roomQueries.event(eventId))?.sender,
  }), userData.presence);
  // m.ignored_user_list and m.invite_permission_config (domain/app/rooms/preferences.ts), from account data.
  const preferences = accountDataPreferences((userId, type) => userData.getAccountData({ userId, deviceId: '' }, userId, null, type)
    .catch((error: unknown) => {
      if (error instanceof MatrixError && error.errcode === 'M_NOT_FOUND') return undefined;
      throw error;
    }));
  // Rooms across servers: joins, leaves, invites and transactions through the room writer.
  const federationRoomsContext = {
    serverName: config.serverName, writer, graph: roomEvents, rooms: roomQueries, keyRing, remoteRooms: createRemoteRooms({ client: federationClient }), acl: serverAcl,
    signingKey: () => signingKey, blocksInvites: (userId: string) => preferences.blocksInvites(userId), now: () => Date.now(),
  };
  const federationRooms = createFederationRooms(federationRoomsContext, {
    edus: eduReceiver,
    // A remote that will not fill the gaps it made is its own problem (a warning); anything else is ours.
    onError: (error) => (error instanceof MatrixError
      ? logger.warn({ errcode: error.errcode, reason: error.message, subsystem: 'federation' }, 'a PDU of an inbound transaction could not be taken in')
      : logger.error({ err: error, subsystem: 'federation' }, 'a PDU of an inbound transaction failed')),
  });
  const rooms = createRooms({
    serverName: config.serverName,
    appservices: config.appservices,
    federation: federationRooms.outbound,
    backfill: createBackfill(federationRoomsContext, createBackfillQueries(db),
      (error) => logger.warn({ err: error, subsystem: 'backfill' }, 'backfilling from another server failed')),
    remoteServers,
    writer: guardedWriter,
    preferences,
    rooms: roomQueries,
    directory,
    profiles: accountStore,
    clock: systemClock,
    random: cryptoRandom,
    ...(bridgeQueries === undefined ? {} : { bridgeQueries }),
  });
  late.rooms = rooms;
  // Invites by email through the trusted identity servers, and their completion on bind.
  const thirdPartyInvitesContext: ThirdPartyInvitesContext = {
    serverName: config.serverName, identityServers, trustedIdServers: config.trustedIdServers, rooms,
    forwardExchange: async (destination, roomId, event) => {
      await federationClient.request(destination, 'PUT', `/_matrix/federation/v1/exchange_third_party_invite/${encodeURIComponent(roomId)}`, event)
        .catch((error: unknown) => {
          throw new ExchangeFailed(`${destination} did not take the third-party invite: ${(error as Error).message}`, { cause: error });
        });
    },
  };
  // Relations, threads, user directory, room summaries, reports, mutual rooms (domain/app/rooms/modules.ts).
  const roomModules = createRoomModules({
    serverName: config.serverName, writer: guardedWriter, rooms: roomQueries, directory, profiles: accountStore, clock: systemClock, random: cryptoRandom,
    ...(bridgeQueries === undefined ? {} : { bridgeQueries }),
    relations: createRelationQueries(db), userDirectory: createSqlUserDirectory(db), reports: createSqlContentReports(db), preferences,
  });
  // Long-polls wait for the rooms projection's wake-ups: once it has stopped they end at once with its 503.
  const roomWakeups = {
    ...notifier,
    waitFor: (keys: readonly string[], since: number, timeoutMs: number, signal?: AbortSignal) =>
      waitWhileRunning(supervisor, roomsRun.name, signal, (stopped) => notifier.waitFor(keys, since, timeoutMs, stopped)),
  };
  const syncContext: SyncContext = {
    rooms: roomQueries, sync: createSyncQueries(db, recentEvents), membership, directory, userData, notifier: roomWakeups, clock: systemClock,
    bundleAggregations: roomModules.bundleAggregations, preferences, responseIntervalMs: config.syncResponseIntervalMs,
    onAnsweredAfterWake: (seconds) => metrics.observeSyncAnswerAfterWake(seconds),
  };
  const sync = createSync(syncContext);
  const legacySync = createLegacySync(syncContext, rooms);
  late.sync = sync;
  // Simplified sliding sync (MSC4186) ranks rooms from the rooms read model's summaries.
  const slidingSync = createSlidingSync({ ...syncContext, slidingRooms: createSlidingRoomQueries(db) });
  late.slidingSync = slidingSync;

  // Push gateway delivery: a room log consumer posting to the HTTP pushers of whoever an event notifies.
  const pushGateway = createPushGatewayClient({ logger: logger.child({ subsystem: 'push gateway' }) });
  const pushContext: PushSenderContext = {
    serverName: config.serverName, rooms: roomQueries, sync: createSyncQueries(db, recentEvents), pushers: userDataStores.pushers, userData, gateway: pushGateway,
    counts: syncContext, preferences, sentBadges: new BoundedMap<string, number>(PUSHERS_WITH_KNOWN_BADGES),
  };
  const pushSender = await startPushSender({
    topic: ROOM_EVENTS_TOPIC, log, db, roomsProjection: roomsRun, pusherUsers, supervisor, metrics, logger: logger.child({ subsystem: 'push sender' }),
    context: pushContext,
  });
  late.pushBadge = (userId) => {
    void pushBadge(pushContext, userId).catch((error: unknown) => logger.warn({ err: error, user_id: userId, subsystem: 'push sender' }, 'a badge update failed'));
  };
  lifecycle.onStop('push sender', () => pushSender.stop());
  lifecycle.onStop('push gateway client', async () => pushGateway.close());

  // Read-your-writes for search: what /sync shows is found (the search projection a moment behind at most).
  const searchQueries = createSearchQueries(db, config.searchLanguage);
  const search = createSearch({
    rooms: roomQueries, directory, clock: systemClock, preferences,
    search: {
      search: async (query) => {
        await caughtUpWith(roomsRun, searchRun, ROOM_EVENTS_PARTITIONS, SEARCH_CATCH_UP_MS);
        return searchQueries.search(query);
      },
    },
  });

  // Analytics: the ClickHouse metadata view and its analyst API (501 without ClickHouse).
  const analystAccess = createAnalystAccess({ users: accountStore, analysts: config.analytics.analysts });
  let analyticsReadModel: AnalyticsReadModel | null = null;
  let countersFeed: AnalyticsCountersFeed | null = null;
  if (clickhouse !== null) {
    const analyticsRun = await startClickHouseProjection({
      projection: analyticsProjection(config.serverName, config.appservices), log, clickhouse, metrics, supervisor, logger: logger.child({ subsystem: 'analytics' }),
    });
    lifecycle.onStop('analytics projection', () => analyticsRun.stop());
    analyticsReadModel = createClickHouseAnalyticsReadModel(clickhouse);
    // Live counters for dashboards: one poll of ClickHouse per process, whatever the sockets (stopped with them, below).
    countersFeed = createAnalyticsCountersFeed({
      readModel: createClickHouseCountersReadModel(clickhouse), now: () => systemClock.now(),
      onError: (error) => logger.warn({ err: error, subsystem: 'analytics counters' }, 'polling the analytics counters failed'),
      onRecovered: () => logger.info({ subsystem: 'analytics counters' }, 'polling the analytics counters works again'),
      onPolled: countersPollMetrics(metrics.registry),
    });
    countersFeed.start();
  }
  const analytics = createAnalytics({ readModel: analyticsReadModel, access: analystAccess, exportMaxRows: config.analytics.exportMaxRows });
  // The analysts' dashboard (/_strata/analytics/), as `npm run build` wrote it.
  const dashboardFiles = loadDashboardFiles();
  if (dashboardFiles.size === 0) logger.warn({ subsystem: 'analytics' }, 'the analytics dashboard is not built (npm run build): /_strata/analytics/ answers 404');

  /** The listener's address once bound (the configured one may say port 0). */
  let listening = displayListenAddress(config.listen);
  const app = createHttpApp({
    logger,
    metrics,
    routers: httpRouters({
      config, publicBaseUrl: () => config.publicBaseUrl ?? `http://${listening}`, consent: stages.consent,
      health: {
        checks: {
          log: () => probeLog(log, writerLease),
          database: () => probeDatabase(db),
          clickhouse: clickhouse === null ? null : async () => {
            if (!(await clickhouse.ping())) throw new Error('ClickHouse did not answer /ping');
          },
        },
        consumers: () => supervisor.statuses(),
      },
      accounts, appservices, urlPreviews, media, mediaAdmin, thumbnails, rooms, roomModules, thirdPartyInvitesContext,
      syncContext, sync, legacySync, slidingSync, userData, search, db, analytics, dashboardFiles,
      // Inbound federation (infra/serverServerApi.ts).
      serverServerApi: serverServerApiRouters({
        config, serverKeys, keyRing, federationSender, accountStore, userDataStores, accounts, rooms, directory, roomQueries,
        roomEvents, relations: createRelationQueries(db), serverAcl, bridgeQueries, media, thumbnails, federationRooms, thirdPartyInvitesContext,
      }),
    }),
  });
  const http = await startHttpServer(app.callback(), config.listen);
  lifecycle.onStop('http server', () => http.close(DRAIN_DEADLINE_MS));
  listening = displayListenAddress(http.address);
  // A user's /sync as a WebSocket stream (GET /_strata/ws/v1/events); closed before the listener drains.
  const eventSockets = createUserEventSockets({
    sync, accounts, metrics: webSocketMetrics(metrics.registry, 'user_events'),
    limits: { ...config.websocket, ...options.eventSockets },
    onError: (error) => logger.error({ err: error, subsystem: 'websocket gateway' }, 'a user event socket failed'),
  });
  // Live analytics counters for analysts' dashboards (GET /_strata/ws/v1/analytics).
  const analyticsSockets = createAnalyticsCounterSockets({
    feed: countersFeed, access: analystAccess, accounts, metrics: webSocketMetrics(metrics.registry, 'analytics_counters'),
    limits: { ...config.websocket, ...options.analyticsSockets },
    onError: (error) => logger.error({ err: error, subsystem: 'websocket gateway' }, 'an analytics counters socket failed'),
  });
  serveWebSocketUpgrades(http.servers, [eventSockets, analyticsSockets]);
  lifecycle.onStop('websocket gateway', async () => {
    await Promise.all([eventSockets.close(), analyticsSockets.close()]);
    await countersFeed?.stop();
  });
  logger.info(
    { listen: displayListenAddress(http.address), server_name: config.serverName },
    `listening on http://${displayListenAddress(http.address)} as ${config.serverName}`,
  );
  // Other homeservers reach the same application over TLS, on a listener of its own.
  const federationHttp = await startFederationListener(app.callback(), config, logger);
  if (federationHttp !== undefined) lifecycle.onStop('federation listener', () => federationHttp.close(DRAIN_DEADLINE_MS));
  const federationAddress = federationHttp === undefined ? {} : { federationAddress: displayListenAddress(federationHttp.address) };
  federationSender.open();
  appserviceSender.open();
  // /metrics tells anyone who reads it about traffic and internals: only on a listener of its own.
  const routes = routeTable(app);
  if (config.metrics === undefined) return { address: displayListenAddress(http.address), ...federationAddress, edus: eduReceiver, routes };
  const metricsApp = createHttpApp({
    logger: logger.child({ listener: 'metrics' }),
    routers: [metricsRouter(metrics, config.metrics.token === undefined ? {} : { token: config.metrics.token })],
  });
  const metricsHttp = await startHttpServer(metricsApp.callback(), config.metrics.listen);
  lifecycle.onStop('metrics server', () => metricsHttp.close(DRAIN_DEADLINE_MS));
  const metricsAddress = displayListenAddress(metricsHttp.address);
  logger.info({ metrics_listen: metricsAddress, metrics_token: config.metrics.token !== undefined },
    `serving /metrics on http://${metricsAddress}`);
  return { address: displayListenAddress(http.address), metricsAddress, ...federationAddress, edus: eduReceiver, routes };
};
