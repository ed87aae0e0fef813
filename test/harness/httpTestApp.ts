/**
 * Test helpers for HTTP-level tests of the gateway: an app built with createHttpApp served on an
 * ephemeral loopback port, with its log lines captured for assertions.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { createHttpApp, type HttpAppOptions } from '../../gateways/http/index.ts';

export interface TestApp {
  readonly url: string;
  readonly server: Server;
  /** Every JSON log line written so far. */
  readonly logs: Record<string, unknown>[];
  close(): Promise<void>;
}

export const serveTestApp = async (options: Omit<HttpAppOptions, 'logger'>): Promise<TestApp> => {
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') logs.push(JSON.parse(line));
      callback();
    },
  });
  const logger = pino({ level: 'debug' }, sink);
  const server = createServer(createHttpApp({ ...options, logger }).callback());
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    logs,
    close: () => new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
};
