/**
 * The HTTP listener (plain, or HTTPS given a certificate and key): starts on the configured address
 * (turning bind errors into one-line StartupErrors), on several listening sockets where it can
 * (ACCEPTORS), and closes gracefully: stop accepting, let in-flight requests finish until a
 * deadline, then cut what is left.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type RequestListener, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createTcpServer, type AddressInfo, type Server as TcpServer } from 'node:net';
import type { ListenAddress } from '../config/index.ts';
import { answerClientErrors } from './clientError.ts';
import { StartupError } from './startupError.ts';

export interface RunningHttpServer {
  /** The bound address (the real port when the config asked for port 0). */
  readonly address: ListenAddress;
  /** The servers listening on the address (one per listening socket, all with the same handler). */
  readonly servers: readonly Server[];
  /** Resolves once every connection is closed; connections still busy at the deadline are cut. */
  close(deadlineMs: number): Promise<void>;
}

/**
 * Listening sockets per address. libuv takes one new connection per listening socket and turn of
 * the event loop, so on a busy loop one socket lets a burst of new connections in at a turn each:
 * a few hundred clients connecting at once (a restart, a load generator opening sockets as its
 * requests in flight grow) waited over a second to be accepted while the server was at 500
 * messages/s. On Linux several sockets share the port (SO_REUSEPORT, the kernel spreads connections
 * over them), so a turn takes one per socket.
 */
const ACCEPTORS = process.platform === 'linux' ? 16 : 1;

/**
 * How long an idle keep-alive connection stays open. Node closes it after 5 s, shorter than what
 * reverse proxies and clients keep theirs (nginx: 60–75 s): a request sent on a connection just as
 * the server closes it fails with ECONNRESET (the benchmark's sends saw a few per run). The server
 * keeps it longer than they do, so they close first.
 */
const KEEP_ALIVE_TIMEOUT_MS = 90_000;

const bindProblem = (code: string | undefined): string => {
  switch (code) {
    case 'EADDRINUSE': return 'the address is already in use';
    case 'EACCES': return 'permission denied (ports below 1024 need privileges)';
    case 'EADDRNOTAVAIL': return 'the address does not belong to this machine';
    case 'ENOTFOUND': case 'EAI_AGAIN': return 'the host name does not resolve';
    default: return code ?? 'unknown error';
  }
};

const display = ({ host, port }: ListenAddress): string => (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`);

/** Listens on `listen`; a bind error becomes a one-line StartupError naming the configured address. */
const bind = async (server: TcpServer, listen: ListenAddress, port: number, reusePort: boolean): Promise<number> => {
  server.listen({ host: listen.host, port, ...(reusePort ? { reusePort: true } : {}) });
  try {
    await once(server, 'listening');
  } catch (error) {
    throw new StartupError(`cannot listen on ${display(listen)}: ${bindProblem((error as NodeJS.ErrnoException).code)}`, { cause: error });
  }
  return (server.address() as AddressInfo).port;
};

/**
 * The port, bound once without sharing first: a port someone already listens on fails here as
 * before, and a second Strata configured with this address fails the same way against ours
 * instead of silently taking a share of its connections (only sockets that all ask to share a
 * port may share it).
 */
const claimPort = async (listen: ListenAddress): Promise<number> => {
  const probe = createTcpServer();
  const port = await bind(probe, listen, listen.port, false);
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
};

export const startHttpServer = async (
  handler: RequestListener, listen: ListenAddress, tls?: { readonly cert: string; readonly key: string },
): Promise<RunningHttpServer> => {
  // An HTTPS server is an HTTP server on TLS sockets: the draining below works the same on both.
  // The servers share their session ticket keys, so a client resumes its TLS session whichever
  // socket its next connection lands on.
  const ticketKeys = randomBytes(48);
  const servers: Server[] = Array.from({ length: ACCEPTORS },
    () => (tls === undefined ? createServer(handler) : createHttpsServer({ cert: tls.cert, key: tls.key, ticketKeys }, handler)));
  // Responses not yet started when draining begins (or requests arriving on an open keep-alive
  // connection meanwhile) say `Connection: close`, so their sockets end with the response.
  let draining = false;
  const pending = new Set<ServerResponse>();
  for (const server of servers) {
    server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
    // Requests the parser refuses (over-long URL or headers, malformed) get a Matrix error body.
    answerClientErrors(server);
    server.on('request', (_req, res: ServerResponse) => {
      if (draining) res.shouldKeepAlive = false;
      pending.add(res);
      res.on('close', () => pending.delete(res));
    });
  }
  const listening: Server[] = [];
  const closeAll = async (): Promise<void> => {
    await Promise.all(listening.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  };
  let port: number;
  try {
    const shared = servers.length > 1;
    port = shared ? await claimPort(listen) : listen.port;
    for (const server of servers) {
      port = await bind(server, listen, port, shared);
      listening.push(server);
    }
  } catch (error) {
    await closeAll();
    throw error;
  }
  const close = (deadlineMs: number): Promise<void> => {
    draining = true;
    for (const res of pending) if (!res.headersSent) res.shouldKeepAlive = false;
    const cut = setTimeout(() => { for (const server of servers) server.closeAllConnections(); }, deadlineMs);
    // Keep-alive connections with no request in flight would otherwise hold close() open.
    const sweep = setInterval(() => { for (const server of servers) server.closeIdleConnections(); }, 100);
    const closed = closeAll().then(() => {
      clearTimeout(cut);
      clearInterval(sweep);
    });
    for (const server of servers) server.closeIdleConnections();
    return closed;
  };
  return { address: { host: listen.host, port }, servers, close };
};

export { display as displayListenAddress };
