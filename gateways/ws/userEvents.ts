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
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { MatrixError } from '../../domain/index.ts';
import type { Accounts, ClientConnection, IdentityAssertion, Requester } from '../../domain/app/accounts/index.ts';
import { parseSyncToken, type SyncRequest, type SyncService } from '../../domain/app/sync/index.ts';

export const USER_EVENTS_PATH = '/_strata/ws/v1/events';

/** Close codes a client can act on (1000–2999 are the protocol's, 4000–4999 the application's). */
export const EVENT_SOCKET_CLOSE = {
  /** The server is shutting down: reconnect later with the last `next_batch`. */
  shutdown: 1001,
  /** The server failed; the reason says no more. */
  internalError: 1011,
  /** The client read too slowly: its buffered output passed the bound (RFC 6455 "Try Again Later"). */
  slowReader: 1013,
  /** The access token is no longer valid (logout, deleted device, deactivated account): M_UNKNOWN_TOKEN. */
  tokenRevoked: 4401,
} as const;

/** Why sockets closed, as counted in metrics. */
export type EventSocketCloseReason = 'client' | 'shutdown' | 'slow_reader' | 'token_revoked' | 'heartbeat' | 'sync_error';

export interface EventSocketMetrics {
  opened(): void;
  closed(reason: EventSocketCloseReason): void;
}

export interface EventSocketLimits {
  /** Output buffered for one socket past which it is closed as a slow reader. */
  readonly maxBufferedBytes: number;
  /** How often each socket is pinged; a peer that has not answered the previous ping is cut. */
  readonly heartbeatIntervalMs: number;
  /** How often each socket's access token is checked again. */
  readonly tokenCheckIntervalMs: number;
  /** Sockets one user may hold at once; one more is refused 429 M_LIMIT_EXCEEDED. */
  readonly maxSocketsPerUser: number;
  /** The server-side /sync long-poll's timeout (it is polled again at once after). */
  readonly pollTimeoutMs: number;
}

export const DEFAULT_EVENT_SOCKET_LIMITS: EventSocketLimits = {
  maxBufferedBytes: 8 * 1024 * 1024,
  heartbeatIntervalMs: 30_000,
  tokenCheckIntervalMs: 3_000,
  maxSocketsPerUser: 10,
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

/** One WebSocket stream on the client listener (the user event stream; analytics counters later). */
export interface WebSocketGateway {
  /** Whether this gateway serves the upgrade request's path. */
  serves(request: IncomingMessage): boolean;
  /** Authenticates and upgrades; refusals are written to the raw socket as HTTP answers. */
  upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Closes every socket (1001) and waits for them to end. */
  close(): Promise<void>;
}

/** Clients send nothing the server reads: a small bound on what they may send. */
const MAX_CLIENT_PAYLOAD = 1024;
/** The close handshake's grace at shutdown before sockets are cut. */
const CLOSE_GRACE_MS = 2_000;
/** WebSocket close reasons are at most 123 bytes of UTF-8: cut on a character boundary. */
export const closeReason = (text: string): string => {
  let reason = text;
  while (Buffer.byteLength(reason) > 123) reason = reason.slice(0, -1);
  return reason;
};

/** A refusal before the upgrade: the Matrix error as a plain HTTP answer on the raw socket. */
const refuse = (socket: Duplex, status: number, body: object): void => {
  const json = JSON.stringify(body);
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n`
    + `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(json)}\r\nConnection: close\r\n\r\n${json}`);
};

/** /sync's `set_presence` values: the socket's user is kept in that presence while it is open. */
const PRESENCE = new Set(['online', 'offline', 'unavailable']);

const BEARER = /^Bearer\s+(\S+)\s*$/i;

/** The token as auth.ts reads it: the Authorization header first, else `access_token`. */
const accessTokenOf = (request: IncomingMessage, query: URLSearchParams): string | undefined => {
  const header = request.headers.authorization;
  if (header !== undefined && header !== '') return BEARER.exec(header)?.[1];
  const token = query.get('access_token');
  return token === null || token === '' ? undefined : token;
};

const assertionOf = (query: URLSearchParams): IdentityAssertion => {
  const userId = query.get('user_id');
  const deviceId = query.get('device_id') ?? query.get('org.matrix.msc3202.device_id');
  return { ...(userId === null ? {} : { userId }), ...(deviceId === null ? {} : { deviceId }) };
};

/** What the socket authenticated with, presented again while it is open. */
interface Credentials {
  readonly token: string;
  readonly connection: ClientConnection;
  readonly assertion: IdentityAssertion;
}

interface Session {
  close(code: number, reason: string, why: EventSocketCloseReason): void;
  readonly ended: Promise<void>;
}

export const createUserEventSockets = (options: UserEventSocketsOptions): WebSocketGateway => {
  const limits: EventSocketLimits = { ...DEFAULT_EVENT_SOCKET_LIMITS, ...options.limits };
  const server = new WebSocketServer({ noServer: true, maxPayload: MAX_CLIENT_PAYLOAD });
  const byUser = new Map<string, Set<Session>>();
  let shuttingDown = false;

  const start = (ws: WebSocket, requester: Requester, credentials: Credentials, request: SyncRequest): void => {
    const aborted = new AbortController();
    let closedBy: EventSocketCloseReason | undefined;
    let answeredPing = true;
    let resolveEnded!: () => void;
    const ended = new Promise<void>((resolve) => { resolveEnded = resolve; });
    const mark = (why: EventSocketCloseReason): boolean => {
      if (closedBy !== undefined) return false;
      closedBy = why;
      aborted.abort();
      clearInterval(heartbeat);
      clearInterval(tokenCheck);
      options.metrics?.closed(why);
      return true;
    };
    const session: Session = {
      close: (code, reason, why) => { if (mark(why)) ws.close(code, closeReason(reason)); },
      ended,
    };
    const sessions = byUser.get(requester.userId) ?? new Set<Session>();
    sessions.add(session);
    byUser.set(requester.userId, sessions);
    options.metrics?.opened();

    const heartbeat = setInterval(() => {
      if (!answeredPing) {
        if (mark('heartbeat')) ws.terminate();
        return;
      }
      answeredPing = false;
      ws.ping();
    }, limits.heartbeatIntervalMs);
    ws.on('pong', () => { answeredPing = true; });
    const tokenCheck = setInterval(() => {
      options.accounts.authenticate(credentials.token, credentials.connection, { assertion: credentials.assertion }).catch((error: unknown) => {
        if (error instanceof MatrixError && (error.status === 401 || error.status === 403)) {
          session.close(EVENT_SOCKET_CLOSE.tokenRevoked, `${error.errcode}: ${error.message}`, 'token_revoked');
        } else {
          options.onError(error);
        }
      });
    }, limits.tokenCheckIntervalMs);
    // Whatever the client sends is ignored; errors on the socket end it as a client close.
    ws.on('error', () => undefined);
    ws.on('close', () => {
      mark('client');
      sessions.delete(session);
      if (sessions.size === 0) byUser.delete(requester.userId);
      void loop.then(resolveEnded);
    });

    const loop = (async () => {
      let since = request.since;
      while (!aborted.signal.aborted) {
        const answer = await options.sync.sync(
          { userId: requester.userId, deviceId: requester.deviceId },
          { ...request, ...(since === undefined ? {} : { since }), timeoutMs: since === undefined ? 0 : limits.pollTimeoutMs },
          aborted.signal,
        );
        if (aborted.signal.aborted) return;
        const next = answer.next_batch;
        if (typeof next !== 'string') throw new Error('a /sync answer without next_batch');
        if (next !== since) ws.send(JSON.stringify(answer));
        since = next;
        // Output the peer has not taken stays in memory: past the bound it is a slow reader.
        if (ws.bufferedAmount > limits.maxBufferedBytes) {
          session.close(EVENT_SOCKET_CLOSE.slowReader, `slow reader: more than ${limits.maxBufferedBytes} bytes unread`, 'slow_reader');
        }
      }
    })().catch((error: unknown) => {
      if (error instanceof MatrixError) {
        // A client's error (e.g. an unknown filter) or the server's refusal (503 while rooms are stopped).
        session.close(4000 + error.status, `${error.errcode}: ${error.message}`, 'sync_error');
        return;
      }
      options.onError(error);
      session.close(EVENT_SOCKET_CLOSE.internalError, 'internal error', 'sync_error');
    });
  };

  const authenticateAndUpgrade = async (request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> => {
    const query = new URL(request.url ?? '/', 'http://localhost').searchParams;
    const token = accessTokenOf(request, query);
    if (token === undefined) return refuse(socket, 401, { errcode: 'M_MISSING_TOKEN', error: 'Missing access token' });
    const assertion = assertionOf(query);
    const since = query.get('since') ?? '';
    const filter = query.get('filter');
    const setPresence = query.get('set_presence');
    // The checks while the socket is open record the device as seen from the same connection.
    const connection: ClientConnection = { ip: request.socket.remoteAddress ?? '', userAgent: request.headers['user-agent'] ?? '' };
    let requester: Requester;
    try {
      requester = await options.accounts.authenticate(token, connection, { assertion });
      if (since !== '') parseSyncToken(since);
      if (setPresence !== null && !PRESENCE.has(setPresence)) {
        throw new MatrixError('M_INVALID_PARAM', 400, "'set_presence' must be online, offline or unavailable");
      }
    } catch (error) {
      if (error instanceof MatrixError) return refuse(socket, error.status, { errcode: error.errcode, error: error.message });
      throw error;
    }
    if (shuttingDown) return refuse(socket, 503, { errcode: 'M_UNKNOWN', error: 'The server is shutting down' });
    if ((byUser.get(requester.userId)?.size ?? 0) >= limits.maxSocketsPerUser) {
      return refuse(socket, 429, { errcode: 'M_LIMIT_EXCEEDED', error: `At most ${limits.maxSocketsPerUser} event sockets per user` });
    }
    if (socket.destroyed) return;
    server.handleUpgrade(request, socket, head, (ws) => start(ws, requester, { token, connection, assertion }, {
      ...(since === '' ? {} : { since }),
      ...(filter === null ? {} : { filter }),
      ...(setPresence === null ? {} : { setPresence }),
    }));
  };

  return {
    serves: (request) => new URL(request.url ?? '/', 'http://localhost').pathname === USER_EVENTS_PATH,
    upgrade: (request, socket, head) => {
      socket.on('error', () => undefined);
      authenticateAndUpgrade(request, socket, head).catch((error: unknown) => {
        options.onError(error);
        refuse(socket, 500, { errcode: 'M_UNKNOWN', error: 'Internal server error' });
      });
    },
    close: async () => {
      shuttingDown = true;
      const all = [...byUser.values()].flatMap((sessions) => [...sessions]);
      for (const session of all) session.close(EVENT_SOCKET_CLOSE.shutdown, 'server shutting down', 'shutdown');
      // Peers that do not finish the close handshake in time are cut.
      const grace = setTimeout(() => { for (const ws of server.clients) ws.terminate(); }, CLOSE_GRACE_MS);
      await Promise.all(all.map((session) => session.ended));
      clearTimeout(grace);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
};
