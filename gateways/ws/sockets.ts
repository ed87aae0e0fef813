/**
 * What every WebSocket stream on the client listener shares: the upgrade (the access token read and
 * authenticated as auth.ts does, the bounds, refusals as an HTTP answer or a close code), and the
 * life of an open socket — bounded per user and in all, pinged (a peer that stops answering is
 * cut), its token checked again every few seconds (a revoked one closes it), never awaited (output
 * a peer does not take is bounded: past it the socket is closed as a slow reader), closed at
 * shutdown (1001) before the listener drains. Each stream states only its path, how it refuses,
 * its own checks and what it sends (createWebSocketGateway).
 */
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { MatrixError } from '../../domain/index.ts';
import type { Accounts, ClientConnection, IdentityAssertion, Requester } from '../../domain/app/accounts/index.ts';

/** Close codes a client can act on (1000–2999 are the protocol's, 4000–4999 the application's). */
export const EVENT_SOCKET_CLOSE = {
  /** The server is shutting down: reconnect later (the user event stream: with the last `next_batch`). */
  shutdown: 1001,
  /** The server failed; the reason says no more. */
  internalError: 1011,
  /** The client read too slowly: its buffered output passed the bound (RFC 6455 "Try Again Later"). */
  slowReader: 1013,
  /** The access token is no longer valid (logout, deleted device, deactivated account): M_UNKNOWN_TOKEN. */
  tokenRevoked: 4401,
  /** The user may not read this stream (any more): M_FORBIDDEN. */
  forbidden: 4403,
} as const;

/**
 * A Matrix error as a close code: 4000 + its HTTP status (4401, 4403, 4429, 4501...), the reason
 * `ERRCODE: message`. Browsers see no HTTP answer to a refused upgrade, only close codes.
 */
export const matrixErrorCloseCode = (error: MatrixError): number => 4000 + error.status;

/** Why sockets closed, as counted in metrics. */
export type EventSocketCloseReason =
  | 'client' | 'shutdown' | 'slow_reader' | 'token_revoked' | 'forbidden' | 'heartbeat' | 'sync_error' | 'stream_error';

export interface EventSocketMetrics {
  opened(): void;
  closed(reason: EventSocketCloseReason): void;
}

export interface SocketLimits {
  /** Output buffered for one socket past which it is closed as a slow reader. */
  readonly maxBufferedBytes: number;
  /** How often each socket is pinged; a peer that has not answered the previous ping is cut. */
  readonly heartbeatIntervalMs: number;
  /** How often each socket's access token is checked again. */
  readonly tokenCheckIntervalMs: number;
  /** Sockets one user may hold at once on this stream. */
  readonly maxSocketsPerUser: number;
  /** Sockets the stream holds at once, all users together. */
  readonly maxSockets: number;
}

/** One WebSocket stream on the client listener (the user event stream, the analytics counters). */
export interface WebSocketGateway {
  /** Whether this gateway serves the upgrade request's path. */
  serves(request: IncomingMessage): boolean;
  /** Authenticates and upgrades; refusals are written to the raw socket as HTTP answers or close codes. */
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

/** The checks while the socket is open record the device as seen from the same connection. */
const connectionOf = (request: IncomingMessage): ClientConnection =>
  ({ ip: request.socket.remoteAddress ?? '', userAgent: request.headers['user-agent'] ?? '' });

/** What the socket authenticated with, presented again while it is open. */
interface Credentials {
  readonly token: string;
  readonly connection: ClientConnection;
  readonly assertion: IdentityAssertion;
}

/** An open socket as its stream sees it. */
export interface SocketSession {
  /** Aborted once the socket is closing, whoever closed it. */
  readonly signal: AbortSignal;
  /** Sends one text message; past the output bound the socket is closed as a slow reader. */
  send(text: string): void;
  close(code: number, reason: string, why: EventSocketCloseReason): void;
}

export interface OpenSocketOptions {
  /** Checked with each token check: a 403 closes the socket 4403 (e.g. an analyst no longer one). */
  readonly recheck?: (requester: Requester) => Promise<void>;
  /** The metrics' reason when the stream fails. */
  readonly failure: EventSocketCloseReason;
}

export interface SocketSessions {
  /** Why one more socket for this user may not open now (shutting down, a bound reached). */
  refusal(userId: string): MatrixError | undefined;
  /** Runs `stream` on an upgraded socket until either ends. */
  open(ws: WebSocket, requester: Requester, credentials: Credentials, stream: (session: SocketSession) => Promise<void>, options: OpenSocketOptions): void;
  /** Closes every socket (1001), cuts those that do not finish the handshake, waits for every stream to end, and closes `server`. */
  close(server: WebSocketServer): Promise<void>;
}

export interface SocketSessionsOptions {
  readonly accounts: Pick<Accounts, 'authenticate'>;
  readonly limits: SocketLimits;
  readonly metrics?: EventSocketMetrics;
  /** What the stream is called in refusals ("event sockets"). */
  readonly noun: string;
  /** Failures that are the server's (not a client's error). */
  readonly onError: (error: unknown) => void;
}

export const createSocketSessions = (options: SocketSessionsOptions): SocketSessions => {
  const { limits } = options;
  const byUser = new Map<string, Set<SocketSession>>();
  /**
   * Each socket until it is closed and its stream has ended: a stream can outlive its socket (a
   * statement still running when the client left), and shutdown waits for it before the stores close.
   */
  const ending = new Set<Promise<void>>();
  let count = 0;
  let shuttingDown = false;

  const open: SocketSessions['open'] = (ws, requester, credentials, stream, openOptions) => {
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
    const session: SocketSession = {
      signal: aborted.signal,
      close: (code, reason, why) => { if (mark(why)) ws.close(code, closeReason(reason)); },
      send: (text) => {
        if (aborted.signal.aborted) return;
        ws.send(text);
        // Output the peer has not taken stays in memory: past the bound it is a slow reader.
        if (ws.bufferedAmount > limits.maxBufferedBytes) {
          session.close(EVENT_SOCKET_CLOSE.slowReader, `slow reader: more than ${limits.maxBufferedBytes} bytes unread`, 'slow_reader');
        }
      },
    };
    ending.add(ended);
    void ended.then(() => ending.delete(ended));
    const sessions = byUser.get(requester.userId) ?? new Set<SocketSession>();
    sessions.add(session);
    byUser.set(requester.userId, sessions);
    count += 1;
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
    const recheck = async (): Promise<void> => {
      let current: Requester;
      try {
        current = await options.accounts.authenticate(credentials.token, credentials.connection, { assertion: credentials.assertion });
      } catch (error) {
        if (!(error instanceof MatrixError && (error.status === 401 || error.status === 403))) throw error;
        session.close(EVENT_SOCKET_CLOSE.tokenRevoked, `${error.errcode}: ${error.message}`, 'token_revoked');
        return;
      }
      try {
        await openOptions.recheck?.(current);
      } catch (error) {
        if (!(error instanceof MatrixError && error.status === 403)) throw error;
        session.close(EVENT_SOCKET_CLOSE.forbidden, `${error.errcode}: ${error.message}`, 'forbidden');
      }
    };
    const tokenCheck = setInterval(() => { recheck().catch(options.onError); }, limits.tokenCheckIntervalMs);
    // Whatever the client sends is ignored; errors on the socket end it as a client close.
    ws.on('error', () => undefined);
    ws.on('close', () => {
      mark('client');
      sessions.delete(session);
      count -= 1;
      if (sessions.size === 0) byUser.delete(requester.userId);
      void running.then(resolveEnded);
    });

    const running = stream(session).catch((error: unknown) => {
      if (error instanceof MatrixError) {
        // A client's error (e.g. an unknown filter) or the server's refusal (503 while rooms are stopped).
        session.close(matrixErrorCloseCode(error), `${error.errcode}: ${error.message}`, openOptions.failure);
        return;
      }
      options.onError(error);
      session.close(EVENT_SOCKET_CLOSE.internalError, 'internal error', openOptions.failure);
    });
  };

  return {
    refusal: (userId) => {
      if (shuttingDown) return new MatrixError('M_UNKNOWN', 503, 'The server is shutting down');
      if ((byUser.get(userId)?.size ?? 0) >= limits.maxSocketsPerUser) {
        return new MatrixError('M_LIMIT_EXCEEDED', 429, `At most ${limits.maxSocketsPerUser} ${options.noun} per user`);
      }
      if (count >= limits.maxSockets) return new MatrixError('M_LIMIT_EXCEEDED', 429, `At most ${limits.maxSockets} ${options.noun} at once`);
      return undefined;
    },
    open,
    close: async (server) => {
      shuttingDown = true;
      for (const sessions of byUser.values()) {
        for (const session of sessions) session.close(EVENT_SOCKET_CLOSE.shutdown, 'server shutting down', 'shutdown');
      }
      // Peers that do not finish the close handshake in time are cut (refused sockets closing too).
      const grace = setTimeout(() => { for (const ws of server.clients) ws.terminate(); }, CLOSE_GRACE_MS);
      await Promise.all(ending);
      await new Promise<void>((resolve) => server.close(() => resolve()));
      clearTimeout(grace);
    },
  };
};

/** A stream the upgrade admitted: what runs on the socket, and how the socket is checked while open. */
export interface AdmittedStream extends OpenSocketOptions {
  run(session: SocketSession): Promise<void>;
}

/** What one stream states; the upgrade, the bounds and the socket's life are the same for all. */
export interface WebSocketStreamOptions extends SocketSessionsOptions {
  readonly path: string;
  /**
   * How refusals reach the client: `http`, as an HTTP answer before the upgrade; `close_code`, by
   * opening the socket only to close it with the refusal's code (all a browser can read).
   */
  readonly refusals: 'http' | 'close_code';
  /** The stream's own checks once the token is authenticated (a MatrixError refuses), and what then runs. */
  admit(requester: Requester, query: URLSearchParams): AdmittedStream | Promise<AdmittedStream>;
}

export const createWebSocketGateway = (options: WebSocketStreamOptions): WebSocketGateway => {
  const server = new WebSocketServer({ noServer: true, maxPayload: MAX_CLIENT_PAYLOAD });
  const sessions = createSocketSessions(options);

  const refuseUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer, error: MatrixError): void => {
    if (options.refusals === 'http') {
      refuse(socket, error.status, { errcode: error.errcode, error: error.message });
      return;
    }
    server.handleUpgrade(request, socket, head, (ws) => {
      ws.on('error', () => undefined);
      ws.close(matrixErrorCloseCode(error), closeReason(`${error.errcode}: ${error.message}`));
    });
  };

  const authenticateAndUpgrade = async (request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> => {
    const query = new URL(request.url ?? '/', 'http://localhost').searchParams;
    const token = accessTokenOf(request, query);
    const assertion = assertionOf(query);
    const connection = connectionOf(request);
    let requester: Requester;
    let admitted: AdmittedStream;
    try {
      if (token === undefined) throw new MatrixError('M_MISSING_TOKEN', 401, 'Missing access token');
      requester = await options.accounts.authenticate(token, connection, { assertion });
      admitted = await options.admit(requester, query);
      const refusal = sessions.refusal(requester.userId);
      if (refusal !== undefined) throw refusal;
    } catch (error) {
      if (!(error instanceof MatrixError)) throw error;
      if (!socket.destroyed) refuseUpgrade(request, socket, head, error);
      return;
    }
    if (socket.destroyed) return;
    server.handleUpgrade(request, socket, head, (ws) => sessions.open(ws, requester, { token, connection, assertion }, admitted.run, admitted));
  };

  return {
    serves: (request) => new URL(request.url ?? '/', 'http://localhost').pathname === options.path,
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
