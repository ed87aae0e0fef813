/**
 * What the HTTP listeners serve, in the order a request crosses the routers: the client-server
 * API, the admin and ops routes, the analytics API and dashboard, and last the server-server API
 * (infra/serverServerApi.ts). One application serves the client listener and the federation one.
 */
import type { Accounts } from '../domain/app/accounts/index.ts';
import type { Appservices } from '../domain/app/appservices/index.ts';
import { createRoomPeeking, type RoomModules, type Rooms } from '../domain/app/rooms/index.ts';
import { createEventStream, type LegacySync, type SyncContext, type SyncService } from '../domain/app/sync/index.ts';
import type { SlidingSyncService } from '../domain/app/sync/sliding/index.ts';
import {
  inviteByThirdPartyId, inviteForThirdPartySignedJoin, type ThirdPartyInvitesContext,
} from '../domain/app/thirdPartyInvites/index.ts';
import type { UserData } from '../domain/app/userData/index.ts';
import type { SqlDatabase } from '../domain/ports/index.ts';
import { createSharedSecretRegistrationRouter } from '../gateways/admin/index.ts';
import { createAnalyticsRouter, createDashboardRouter, type AnalyticsRouterOptions } from '../gateways/analytics/index.ts';
import type { DashboardRouterOptions } from '../gateways/analytics/dashboard/index.ts';
import { createAccountsRouter, createTokenBucketLimiter } from '../gateways/client/accounts/index.ts';
import { consentRouter, versionsRouter, type ConsentOptions } from '../gateways/client/index.ts';
import { createPreviewUrlRouter, type PreviewUrlRouterOptions } from '../gateways/client/media/previewUrl/index.ts';
import { createNotificationsRouter } from '../gateways/client/notifications/index.ts';
import { createRoomsRouter } from '../gateways/client/rooms/index.ts';
import { createSearchRouter, type SearchRouterOptions } from '../gateways/client/search/index.ts';
import { createSlidingSyncRouter, createSyncRouter } from '../gateways/client/sync/index.ts';
import { createUserDataRouter } from '../gateways/client/userData/index.ts';
import { federationVersionRouter } from '../gateways/federation/index.ts';
import type { StrataRouter } from '../gateways/http/index.ts';
import { createMediaRouter, type MediaRouterOptions } from '../gateways/media/index.ts';
import { healthRouter, type HealthOptions } from '../gateways/ops/index.ts';
import { createNotificationQueries } from '../projections/rooms/index.ts';
import packageJson from '../package.json' with { type: 'json' };
import type { StrataConfig } from './config/index.ts';
import { systemClock } from './stores/index.ts';

/**
 * Spec versions whose client-server behaviour Strata follows; clients pick features by them alone.
 *
 * Up to v1.11: v1.11's change (changelog: "Media downloads and thumbnails are now
 * authenticated", MSC3916) is the content repository under `/_matrix/client/v1/media/*`, which
 * gateways/media serves (uploads, asynchronous uploads, downloads, thumbnails, previews, config).
 * v1.12 and later add more than the freeze of unauthenticated media (which Strata already applies
 * as Synapse's `enable_authenticated_media`), not all of it checked here, so they are not named.
 */
const SUPPORTED_SPEC_VERSIONS: readonly string[] = [
  'r0.0.1', 'r0.1.0', 'r0.2.0', 'r0.3.0', 'r0.4.0', 'r0.5.0', 'r0.6.0', 'r0.6.1',
  ...Array.from({ length: 11 }, (_, i) => `v1.${i + 1}`),
];

export interface HttpRoutersOptions {
  readonly config: StrataConfig;
  /** `m.homeserver.base_url`, read per request (the listener's address once bound, unless configured). */
  readonly publicBaseUrl: () => string;
  /** The policy page (`/_matrix/consent`) when one is configured. */
  readonly consent: ConsentOptions | undefined;
  readonly health: HealthOptions;
  readonly accounts: Accounts;
  readonly appservices: Appservices;
  readonly urlPreviews: PreviewUrlRouterOptions['previews'] | undefined;
  readonly media: MediaRouterOptions['media'];
  readonly mediaAdmin: MediaRouterOptions['admin'];
  readonly thumbnails: MediaRouterOptions['thumbnails'];
  readonly rooms: Rooms;
  readonly roomModules: RoomModules;
  readonly thirdPartyInvitesContext: ThirdPartyInvitesContext;
  readonly syncContext: SyncContext;
  readonly sync: SyncService;
  readonly legacySync: LegacySync;
  readonly slidingSync: SlidingSyncService;
  readonly userData: UserData;
  readonly search: SearchRouterOptions['search'];
  readonly db: SqlDatabase;
  readonly analytics: AnalyticsRouterOptions['analytics'];
  readonly dashboardFiles: DashboardRouterOptions['files'];
  /** The server-server API's routers (infra/serverServerApi.ts). */
  readonly serverServerApi: readonly StrataRouter[];
}

export const httpRouters = (options: HttpRoutersOptions): StrataRouter[] => {
  const { config, accounts, appservices, urlPreviews, media, thumbnails, rooms, thirdPartyInvitesContext, syncContext, userData } = options;
  const { rooms: roomQueries, notifier: roomWakeups, preferences } = syncContext;
  return [
    // Simplified sliding sync is served natively (matrix-rust-sdk / Element X look for this flag).
    versionsRouter({ versions: SUPPORTED_SPEC_VERSIONS, unstableFeatures: { 'org.matrix.simplified_msc3575': true } }),
    ...(options.consent === undefined ? [] : [consentRouter(options.consent)]),
    federationVersionRouter({ version: packageJson.version }),
    healthRouter(options.health),
    createAccountsRouter({
      accounts, appservices, rateLimits: config.rateLimits, publicBaseUrl: options.publicBaseUrl,
      ...(config.support === undefined ? {} : { support: config.support }),
    }),
    createSharedSecretRegistrationRouter(accounts),
    ...(urlPreviews === undefined ? [] : [createPreviewUrlRouter({ previews: urlPreviews, accounts })]),
    createMediaRouter({
      media, admin: options.mediaAdmin, accounts, serverName: config.serverName, thumbnails,
      uploadLimiter: config.rateLimits.mediaCreate === null ? null : createTokenBucketLimiter(config.rateLimits.mediaCreate),
    }),
    createRoomsRouter({
      rooms, accounts, appservices, messageRateLimit: config.rateLimits.messages, modules: options.roomModules,
      thirdPartyInvites: {
        invite: (requester, roomId, request) => inviteByThirdPartyId(thirdPartyInvitesContext, requester, roomId, request),
        inviteForJoin: (requester, room, signed) => inviteForThirdPartySignedJoin(thirdPartyInvitesContext, requester, room, signed),
      },
      peeking: createRoomPeeking({ rooms: roomQueries, clock: systemClock, notifier: roomWakeups }),
      eventStream: createEventStream(syncContext),
      legacySync: options.legacySync,
    }),
    createUserDataRouter({ userData, accounts }),
    createSyncRouter({ sync: options.sync, accounts, legacySync: options.legacySync }),
    createSlidingSyncRouter({ slidingSync: options.slidingSync, accounts }),
    createSearchRouter({ search: options.search, accounts }),
    createNotificationsRouter({
      accounts,
      notifications: {
        rooms: roomQueries, sync: syncContext.sync, notifications: createNotificationQueries(options.db), userData, clock: systemClock, preferences,
      },
    }),
    createAnalyticsRouter({ analytics: options.analytics, accounts }),
    createDashboardRouter({ files: options.dashboardFiles }),
    ...options.serverServerApi,
  ];
};
