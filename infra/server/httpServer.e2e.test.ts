import { once } from 'node:events';
import { createServer } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { StartupError, startHttpServer } from './index.ts';
import { createSelfSignedCertificate } from './selfSignedCertificate.ts';

const localhost = { host: '127.0.0.1', port: 0 };

describe('startHttpServer', () => {
  it('binds an ephemeral port when asked for port 0 and reports it', async () => {
    const http = await startHttpServer((_req, res) => res.end('ok'), localhost);
    expect(http.address.port).toBeGreaterThan(0);
    expect(await (await fetch(`http://127.0.0.1:${http.address.port}/`)).text()).toBe('ok');
    // Idle connections outlive the reverse proxies' and clients' own keep-alive (60–75 s).
    for (const server of http.servers) expect(server.keepAliveTimeout).toBeGreaterThan(75_000);
    await http.close(1_000);
  });

  it('fails with a one-line StartupError when the port is taken', async () => {
    const squatter = createServer().listen(0, '127.0.0.1');
    await once(squatter, 'listening');
    const { port } = squatter.address() as AddressInfo;
    try {
      const failure = await startHttpServer(() => undefined, { host: '127.0.0.1', port }).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(StartupError);
      expect((failure as Error).message).toBe(`cannot listen on 127.0.0.1:${port}: the address is already in use`);
    } finally {
      squatter.close();
    }
  });

  it('refuses a second listener on its address instead of sharing the port with it', async () => {
    const first = await startHttpServer((_req, res) => res.end('first'), localhost);
    try {
      const second = await startHttpServer((_req, res) => res.end('second'), first.address).catch((error: unknown) => error);
      expect(second).toBeInstanceOf(StartupError);
      expect((second as Error).message).toBe(`cannot listen on 127.0.0.1:${first.address.port}: the address is already in use`);
      expect(await (await fetch(`http://127.0.0.1:${first.address.port}/`)).text()).toBe('first');
    } finally {
      await first.close(1_000);
    }
  });

  // A busy event loop takes one new connection per listening socket and turn: several sockets let
  // a burst of connections in several at a turn.
  it.runIf(process.platform === 'linux')('spreads new connections over several listening sockets on Linux', async () => {
    const http = await startHttpServer((_req, res) => res.end('ok'), localhost);
    const accepted = http.servers.map(() => 0);
    http.servers.forEach((server, i) => server.on('connection', () => { accepted[i]! += 1; }));
    const sockets = await Promise.all(Array.from({ length: 64 }, async () => {
      const socket = connect(http.address.port, '127.0.0.1');
      await once(socket, 'connect');
      return socket;
    }));
    try {
      await expect.poll(() => accepted.reduce((sum, count) => sum + count, 0)).toBe(64);
      expect(http.servers.length).toBeGreaterThan(1);
      expect(accepted.filter((count) => count > 0).length).toBeGreaterThan(1);
    } finally {
      for (const socket of sockets) socket.destroy();
      await http.close(1_000);
    }
  });

  it('resumes a TLS session whichever listening socket the next connection lands on', async () => {
    const credentials = createSelfSignedCertificate({ host: '127.0.0.1', notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 3_600_000) });
    const http = await startHttpServer((_req, res) => res.end('ok'), localhost, credentials);
    /** One request on a fresh TLS connection; the first ticket it got (TLS 1.3 sends them after the handshake). */
    const handshake = async (session?: Buffer): Promise<{ reused: boolean; ticket: Buffer | undefined }> => {
      const socket = tlsConnect({ host: '127.0.0.1', port: http.address.port, rejectUnauthorized: false, ...(session === undefined ? {} : { session }) });
      let ticket: Buffer | undefined;
      socket.on('session', (issued: Buffer) => { ticket ??= issued; });
      await once(socket, 'secureConnect');
      const reused = socket.isSessionReused();
      socket.end('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
      socket.resume();
      await once(socket, 'close');
      return { reused, ticket };
    };
    try {
      const first = await handshake();
      expect(first.reused).toBe(false);
      expect(first.ticket).toBeDefined();
      const again = await Promise.all(Array.from({ length: 16 }, () => handshake(first.ticket)));
      expect(again.every(({ reused }) => reused)).toBe(true);
    } finally {
      await http.close(1_000);
    }
  });

  it('lets an in-flight request finish while refusing new connections', async () => {
    const http = await startHttpServer((_req, res) => {
      setTimeout(() => res.end('finished'), 300);
    }, localhost);
    const url = `http://127.0.0.1:${http.address.port}/`;
    const inFlight = fetch(url).then((response) => response.text());
    await new Promise((resolve) => setTimeout(resolve, 50));
    const closed = http.close(5_000);
    expect(await inFlight).toBe('finished');
    await closed;
    await expect(fetch(url)).rejects.toThrow();
  });

  it('cuts requests still running at the deadline', async () => {
    const http = await startHttpServer(() => undefined, localhost);
    const inFlight = fetch(`http://127.0.0.1:${http.address.port}/`).then(() => 'answered', () => 'cut');
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = Date.now();
    await http.close(200);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(await inFlight).toBe('cut');
  });
});
