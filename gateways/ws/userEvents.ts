/**
 * `GET /_strata/ws/v1/events` upgraded to a WebSocket: a user's live stream of what `/sync` would
 * return, for clients that prefer a socket to long-polling. Server-side it is a `/sync` long-poll
 * loop with the user's filter (the same use-case, so visibility and formatting are identical);
 * each text message is one `/sync` response body whose `next_batch` is the position to resume
 * from (`since` at connect). Answers whose `next_batch` did not move (a long-poll timing out) are
 * not sent.
 *
 * The socket is authenticated as any client request (Authorization header, or the `access_token`
 * query parameter as browsers cannot set headers on a WebSocket); a refused token is a Matrix
 * error before the upgrade. Afterwards the token is checked again periodically, so a logout, a
 * deleted device or a deactivation closes the socket within seconds. A reader too slow to take
 * what is sent is closed once its buffered output passes a bound (never awaited: the server does
 * not block on it); peers that stop answering pings are cut.
 */
import { MatrixError } from '../../domain/index.ts';
import type { Accounts, Requester } from '../../domain/app/accounts/index.ts';
import { parseSyncToken, type SyncRequest, type SyncService } from '../../domain/app/sync/index.ts';
import {
  createWebSocketGateway, type EventSocketMetrics, type SocketLimits, type SocketSession, type WebSocketGateway,
} from './sockets.ts';

export const USER_EVENTS_PATH = '/_strata/ws/v1/events';

export interface EventSocketLimits extends SocketLimits {
  /** The server-side /sync long-poll's timeout (it is polled again at once after). */
  readonly pollTimeoutMs: number;
}

export const DEFAULT_EVENT_SOCKET_LIMITS: EventSocketLimits = {
  maxBufferedBytes: 8 * 1024 * 1024,
  heartbeatIntervalMs: 30_000,
  tokenCheckIntervalMs: 3_000,
  maxSocketsPerUser: 10,
  // Each socket holds a /sync long-poll: bounded per user; the listener's connections bound the rest.
  maxSockets: Number.POSITIVE_INFINITY,
  pollTimeoutMs: 30_000,
};

export interface UserEventSocketsOptions {
  readonly sync: Pick<SyncService, 'sync'>;
  readonly accounts: Pick<Accounts, 'authenticate'>;
  readonly metrics?: EventSocketMetrics;
  readonly limits?: Partial<EventSocketLimits>;
  /** Failures that are the server's (not a client's error). */
  readonly onError: (error: unknown) => void;
}

/** /sync's `set_presence` values: the socket's user is kept in that presence while it is open. */
const PRESENCE = new Set(['online', 'offline', 'unavailable']);

export const createUserEventSockets = (options: UserEventSocketsOptions): WebSocketGateway => {
  const limits: EventSocketLimits = { ...DEFAULT_EVENT_SOCKET_LIMITS, ...options.limits };

  const poll = async (requester: Requester, request: SyncRequest, session: SocketSession): Promise<void> => {
    let since = request.since;
    while (!session.signal.aborted) {
      const answer = await options.sync.sync(
        { userId: requester.userId, deviceId: requester.deviceId },
        { ...request, ...(since === undefined ? {} : { since }), timeoutMs: since === undefined ? 0 : limits.pollTimeoutMs },
        session.signal,
      );
      if (session.signal.aborted) return;
      const next = answer.next_batch;
      if (typeof next !== 'string') throw new Error('a /sync answer without next_batch');
      if (next !== since) session.send(JSON.stringify(answer));
      since = next;
    }
  };

  return createWebSocketGateway({
    path: USER_EVENTS_PATH,
    refusals: 'http',
    accounts: options.accounts,
    limits,
    noun: 'event sockets',
    onError: options.onError,
    ...(options.metrics === undefined ? {} : { metrics: options.metrics }),
    admit: (requester, query) => {
      const since = query.get('since') ?? '';
      const filter = query.get('filter');
      const setPresence = query.get('set_presence');
      if (since !== '') parseSyncToken(since);
      if (setPresence !== null && !PRESENCE.has(setPresence)) {
        throw new MatrixError('M_INVALID_PARAM', 400, "'set_presence' must be online, offline or unavailable");
      }
      const request: SyncRequest = {
        ...(since === '' ? {} : { since }),
        ...(filter === null ? {} : { filter }),
        ...(setPresence === null ? {} : { setPresence }),
      };
      return { run: (session) => poll(requester, request, session), failure: 'sync_error' };
    },
  });
};
