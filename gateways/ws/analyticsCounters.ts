/**
 * `GET /_strata/ws/v1/analytics` upgraded to a WebSocket: live analytics counters for dashboards,
 * analysts only. Every 2 s (the first message at once) a text message
 * `{ "type": "counters", "ts", "events_last_minute", "events_last_hour", "events_today",
 * "senders_today", "rooms_today", "by_type_last_hour": { type: n } }`, from the one shared poll of
 * the warehouse (domain/app/analytics/counters.ts): a socket costs the warehouse nothing.
 *
 * Browsers see no HTTP answer to a refused upgrade, so refusals come as close codes once the
 * socket is open: 4000 + the Matrix error's status, reason `ERRCODE: message` — 4401 for a missing,
 * bad or (later) revoked token, 4403 for a user who is not (or no longer) an analyst, 4429 past
 * the bounds on sockets (per user and in all), 4501 when no warehouse is configured (told to
 * analysts only), 4503 while the server shuts down. Slow readers are closed 1013, shutdown 1001.
 */
import { MatrixError } from '../../domain/index.ts';
import type { Accounts } from '../../domain/app/accounts/index.ts';
import {
  countersMessage, NOT_CONFIGURED_MESSAGE, type AnalystAccess, type AnalyticsCountersFeed,
} from '../../domain/app/analytics/index.ts';
import { createWebSocketGateway, type EventSocketMetrics, type SocketLimits, type WebSocketGateway } from './sockets.ts';

export const ANALYTICS_COUNTERS_PATH = '/_strata/ws/v1/analytics';

export const DEFAULT_ANALYTICS_SOCKET_LIMITS: SocketLimits = {
  maxBufferedBytes: 8 * 1024 * 1024,
  heartbeatIntervalMs: 30_000,
  tokenCheckIntervalMs: 3_000,
  maxSocketsPerUser: 10,
  // Dashboards are few; each socket only takes a copy of the shared counters.
  maxSockets: 1_000,
};

export interface AnalyticsCounterSocketsOptions {
  /** null when no warehouse (ClickHouse) is configured. */
  readonly feed: AnalyticsCountersFeed | null;
  readonly access: Pick<AnalystAccess, 'requireAnalyst'>;
  readonly accounts: Pick<Accounts, 'authenticate'>;
  readonly metrics?: EventSocketMetrics;
  readonly limits?: Partial<SocketLimits>;
  /** Failures that are the server's (not a client's error). */
  readonly onError: (error: unknown) => void;
}

export const createAnalyticsCounterSockets = (options: AnalyticsCounterSocketsOptions): WebSocketGateway =>
  createWebSocketGateway({
    path: ANALYTICS_COUNTERS_PATH,
    refusals: 'close_code',
    accounts: options.accounts,
    limits: { ...DEFAULT_ANALYTICS_SOCKET_LIMITS, ...options.limits },
    noun: 'analytics sockets',
    onError: options.onError,
    ...(options.metrics === undefined ? {} : { metrics: options.metrics }),
    admit: async (requester) => {
      // Analysts first: others learn nothing, not even whether a warehouse is configured.
      await options.access.requireAnalyst(requester.userId);
      const { feed } = options;
      if (feed === null) throw new MatrixError('M_UNKNOWN', 501, NOT_CONFIGURED_MESSAGE);
      return {
        run: (session) => new Promise<void>((resolve) => {
          const unsubscribe = feed.subscribe((counters) => session.send(JSON.stringify(countersMessage(counters))));
          session.signal.addEventListener('abort', () => {
            unsubscribe();
            resolve();
          }, { once: true });
        }),
        // An admin demoted or an analyst struck from the list loses the stream at the next check.
        recheck: (current) => options.access.requireAnalyst(current.userId),
        failure: 'stream_error',
      };
    },
  });
