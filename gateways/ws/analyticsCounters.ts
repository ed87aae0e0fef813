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
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { MatrixError } from '../../domain/index.ts';
import type { Accounts, Requester } from '../../domain/app/accounts/index.ts';
import {
  countersMessage, NOT_CONFIGURED_MESSAGE, type AnalystAccess, type AnalyticsCountersFeed,
} from '../../domain/app/analytics/index.ts';
import {
  accessTokenOf, assertionOf, closeReason, connectionOf, createSocketSessions, matrixErrorCloseCode, MAX_CLIENT_PAYLOAD, pathOf, refuse,
  type Credentials, type EventSocketMetrics, type SocketLimits, type WebSocketGateway,
} from './sockets.ts';

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

export const createAnalyticsCounterSockets = (options: AnalyticsCounterSocketsOptions): WebSocketGateway => {
  const limits: SocketLimits = { ...DEFAULT_ANALYTICS_SOCKET_LIMITS, ...options.limits };
  const server = new WebSocketServer({ noServer: true, maxPayload: MAX_CLIENT_PAYLOAD });
  const sessions = createSocketSessions({ accounts: options.accounts, limits, noun: 'analytics sockets', onError: options.onError,
    ...(options.metrics === undefined ? {} : { metrics: options.metrics }) });

  /** Opens the socket only to close it with the refusal's code: what a browser can read. */
  const refuseOpen = (request: IncomingMessage, socket: Duplex, head: Buffer, error: MatrixError): void => {
    server.handleUpgrade(request, socket, head, (ws) => {
      ws.on('error', () => undefined);
      ws.close(matrixErrorCloseCode(error), closeReason(`${error.errcode}: ${error.message}`));
    });
  };

  const stream = (feed: AnalyticsCountersFeed) => (ws: WebSocket, requester: Requester, credentials: Credentials): void => {
    sessions.open(ws, requester, credentials, (session) => new Promise<void>((resolve) => {
      const unsubscribe = feed.subscribe((counters) => session.send(JSON.stringify(countersMessage(counters))));
      session.signal.addEventListener('abort', () => {
        unsubscribe();
        resolve();
      }, { once: true });
    }), {
      // An admin demoted or an analyst struck from the list loses the stream at the next check.
      recheck: (current) => options.access.requireAnalyst(current.userId),
      failure: 'stream_error',
    });
  };

  const authenticateAndUpgrade = async (request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> => {
    const query = new URL(request.url ?? '/', 'http://localhost').searchParams;
    const token = accessTokenOf(request, query);
    const assertion = assertionOf(query);
    const connection = connectionOf(request);
    let requester: Requester;
    let feed: AnalyticsCountersFeed;
    try {
      if (token === undefined) throw new MatrixError('M_MISSING_TOKEN', 401, 'Missing access token');
      requester = await options.accounts.authenticate(token, connection, { assertion });
      // Analysts first: others learn nothing, not even whether a warehouse is configured.
      await options.access.requireAnalyst(requester.userId);
      if (options.feed === null) throw new MatrixError('M_UNKNOWN', 501, NOT_CONFIGURED_MESSAGE);
      feed = options.feed;
      const refusal = sessions.refusal(requester.userId);
      if (refusal !== undefined) throw refusal;
    } catch (error) {
      if (!(error instanceof MatrixError)) throw error;
      if (!socket.destroyed) refuseOpen(request, socket, head, error);
      return;
    }
    if (socket.destroyed) return;
    server.handleUpgrade(request, socket, head, (ws) => stream(feed)(ws, requester, { token, connection, assertion }));
  };

  return {
    serves: (request) => pathOf(request) === ANALYTICS_COUNTERS_PATH,
    upgrade: (request, socket, head) => {
      socket.on('error', () => undefined);
      authenticateAndUpgrade(request, socket, head).catch((error: unknown) => {
        options.onError(error);
        refuse(socket, 500, { errcode: 'M_UNKNOWN', error: 'Internal server error' });
      });
    },
    close: () => sessions.close(server),
  };
};
