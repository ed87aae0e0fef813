/**
 * The HTTP listener (plain, or HTTPS given a certificate and key): starts on the configured address
 * (turning bind errors into one-line StartupErrors) and closes gracefully: stop accepting, let
 * in-flight requests finish until a deadline, then cut what is left.
 */
import { createServer, type RequestListener, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { ListenAddress } from '../config/index.ts';
import { answerClientErrors } from './clientError.ts';
import { StartupError } from './startupError.ts';

export interface RunningHttpServer {
  /** The bound address (the real port when the config asked for port 0). */
  readonly address: ListenAddress;
  readonly server: Server;
  /** Resolves once every connection is closed; connections still busy at the deadline are cut. */
  close(deadlineMs: number): Promise<void>;
}

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

export const startHttpServer = (
  handler: RequestListener, listen: ListenAddress, tls?: { readonly cert: string; readonly key: string },
): Promise<RunningHttpServer> =>
  new Promise((resolve, reject) => {
    // An HTTPS server is an HTTP server on TLS sockets: the draining below works the same on both.
    const server: Server = tls === undefined ? createServer(handler) : createHttpsServer({ cert: tls.cert, key: tls.key }, handler);
    // Requests the parser refuses (over-long URL or headers, malformed) get a Matrix error body.
    answerClientErrors(server);
    // Responses not yet started when draining begins (or requests arriving on an open keep-alive
    // connection meanwhile) say `Connection: close`, so their sockets end with the response.
    let draining = false;
    const pending = new Set<ServerResponse>();
    server.on('request', (_req, res: ServerResponse) => {
      if (draining) res.shouldKeepAlive = false;
      pending.add(res);
      res.on('close', () => pending.delete(res));
    });
    const onError = (error: NodeJS.ErrnoException) =>
      reject(new StartupError(`cannot listen on ${display(listen)}: ${bindProblem(error.code)}`, { cause: error }));
    server.once('error', onError);
    server.listen({ host: listen.host, port: listen.port }, () => {
      server.off('error', onError);
      const bound = server.address() as AddressInfo;
      const close = (deadlineMs: number): Promise<void> =>
        new Promise((done) => {
          draining = true;
          for (const res of pending) if (!res.headersSent) res.shouldKeepAlive = false;
          const cut = setTimeout(() => server.closeAllConnections(), deadlineMs);
          // Keep-alive connections with no request in flight would otherwise hold close() open.
          const sweep = setInterval(() => server.closeIdleConnections(), 100);
          server.close(() => {
            clearTimeout(cut);
            clearInterval(sweep);
            done();
          });
          server.closeIdleConnections();
        });
      resolve({ address: { host: listen.host, port: bound.port }, server, close });
    });
  });

export { display as displayListenAddress };
