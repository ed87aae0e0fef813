/**
 * The federation transport end to end on loopback: in-process HTTPS servers with a self-signed
 * certificate made here by the openssl CLI, a client signing requests to the IP-literal server name
 * `127.0.0.1:<port>`, and the receiving side's X-Matrix middleware verifying them. Also: the
 * address policy refusing loopback, certificate checks refusing an unknown authority (and passing
 * with it trusted the way NODE_EXTRA_CA_CERTS trusts one), timeouts on hanging servers, bounded
 * answers, and the `.well-known` fetch with redirects.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { RequestListener } from 'node:http';
import { createServer as createHttpsServer, Agent, request as httpsRequest, type Server } from 'node:https';
import { createServer as createTcpServer, type AddressInfo, type Server as TcpServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tls from 'node:tls';
import { Router } from '@koa/router';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_BLOCKED_RANGES, signXMatrixRequest, signingKeyFromSeed } from '../../../domain/index.ts';
import { federationAuth, federationVersionRouter, originOf } from '../../../gateways/federation/index.ts';
import { createHttpApp, readJsonBody, type RequestState } from '../../../gateways/http/index.ts';
import { createFederationClient, FederationClientError, FederationHttpError, type FederationClientOptions } from './index.ts';
import { fetchWellKnown } from './discovery.ts';

const keyA = signingKeyFromSeed('a.example', 'ed25519:a', new Uint8Array(32).fill(3));
const stranger = signingKeyFromSeed('a.example', 'ed25519:stranger', new Uint8Array(32).fill(4));

let dir: string;
let cert: string;
let key: string;
const servers: (Server | TcpServer)[] = [];
const sockets = new Set<Socket>();

const listen = async <S extends Server | TcpServer>(server: S): Promise<number> => {
  servers.push(server);
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
};

/** The receiving homeserver, named `127.0.0.1:<port>`. */
let bName: string;
let bRequests = 0;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'strata-federation-'));
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:wk.test',
    '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
  ], { stdio: 'ignore' });
  cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
  key = readFileSync(join(dir, 'key.pem'), 'utf8');

  let handler: RequestListener = () => undefined;
  const port = await listen(createHttpsServer({ cert, key }, (req, res) => handler(req, res)));
  bName = `127.0.0.1:${port}`;
  const echo = new Router<RequestState>();
  const auth = federationAuth({
    serverName: bName,
    lookupKey: async (serverName, keyId) => (serverName === keyA.serverName && keyId === keyA.keyId ? keyA.publicKeyBase64 : undefined),
  });
  echo.all('/_matrix/federation/v1/echo/:thing', auth, async (ctx) => {
    const body = ctx.method === 'PUT' || ctx.method === 'POST' ? await readJsonBody(ctx, { maxBytes: 1024 }) : null;
    ctx.body = { origin: originOf(ctx), thing: ctx.params.thing, url: ctx.originalUrl, host: ctx.get('Host'), body };
  });
  // Unauthenticated: what the client sent for Host and SNI, whatever name it resolved.
  echo.get('/_matrix/federation/v1/connection', (ctx) => {
    ctx.body = { host: ctx.get('Host'), sni: (ctx.req.socket as tls.TLSSocket).servername };
  });
  echo.get('/_matrix/federation/v1/big', (ctx) => {
    ctx.body = { pad: 'x'.repeat(64 * 1024) };
  });
  const app = createHttpApp({ logger: pino({ level: 'silent' }), routers: [federationVersionRouter({ version: '9.9.9' }), echo] });
  const callback = app.callback();
  handler = (req, res) => {
    bRequests += 1;
    void callback(req, res);
  };
});

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  rmSync(dir, { recursive: true, force: true });
});

const clientOptions = (overrides: Partial<FederationClientOptions> = {}): FederationClientOptions => ({
  serverName: 'a.example',
  signingKey: keyA,
  verifyCertificates: false,
  ipRangeWhitelist: ['127.0.0.1/32'],
  connectTimeoutMs: 2_000,
  requestTimeoutMs: 5_000,
  ...overrides,
});

const failure = async (promise: Promise<unknown>): Promise<unknown> => {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a failure');
};

describe('federation client and X-Matrix middleware', () => {
  it('signs a request to an IP-literal server name that the other side verifies (body, query, Host)', async () => {
    const client = createFederationClient(clientOptions());
    try {
      const answer = await client.request(bName, 'POST', '/_matrix/federation/v1/echo/one?q=a%20b&r=%F0%9F%98%80', { hello: 'world', n: [1, 2] });
      expect(answer).toEqual({ origin: 'a.example', thing: 'one', url: '/_matrix/federation/v1/echo/one?q=a%20b&r=%F0%9F%98%80', host: bName, body: { hello: 'world', n: [1, 2] } });
      expect(await client.request(bName, 'GET', '/_matrix/federation/v1/echo/two')).toMatchObject({ origin: 'a.example', thing: 'two', body: null });
      // PUT without a body sends (and signs) the empty object the spec requires.
      expect(await client.request(bName, 'PUT', '/_matrix/federation/v1/echo/three')).toMatchObject({ body: {} });
      expect(await client.request(bName, 'GET', '/_matrix/federation/v1/version')).toEqual({ server: { name: 'Strata', version: '9.9.9' } });
      // An IP-literal server name: Host is the server name with its port, and no SNI is sent (§ TLS).
      expect(await client.request(bName, 'GET', '/_matrix/federation/v1/connection')).toEqual({ host: bName, sni: false });
    } finally {
      client.close();
    }
  });

  it('the middleware refuses an unknown key, a missing header and a tampered body', async () => {
    const client = createFederationClient(clientOptions({ signingKey: stranger }));
    try {
      const error = await failure(client.request(bName, 'POST', '/_matrix/federation/v1/echo/x', {}));
      expect(error).toBeInstanceOf(FederationHttpError);
      expect(error).toMatchObject({ status: 401, errcode: 'M_UNAUTHORIZED' });
    } finally {
      client.close();
    }
    const unsigned = await fetchRaw('POST', '/_matrix/federation/v1/echo/x', '{}', {});
    expect(unsigned).toMatchObject({ status: 401, body: { errcode: 'M_UNAUTHORIZED' } });
    // A header signed for one body, sent with another.
    const authorization = signXMatrixRequest({ method: 'POST', uri: '/_matrix/federation/v1/echo/x', destination: bName, content: { a: 1 } }, keyA);
    expect(await fetchRaw('POST', '/_matrix/federation/v1/echo/x', '{"a":2}', { Authorization: authorization })).toMatchObject({ status: 401, body: { errcode: 'M_UNAUTHORIZED' } });
    expect(await fetchRaw('POST', '/_matrix/federation/v1/echo/x', '{"a":1}', { Authorization: authorization })).toMatchObject({ status: 200, body: { origin: 'a.example' } });
    const elsewhere = signXMatrixRequest({ method: 'GET', uri: '/_matrix/federation/v1/echo/x', destination: 'b.example' }, keyA);
    expect(await fetchRaw('GET', '/_matrix/federation/v1/echo/x', undefined, { Authorization: elsewhere })).toMatchObject({ status: 401, body: { errcode: 'M_UNAUTHORIZED' } });
    expect(await fetchRaw('GET', '/_matrix/federation/v1/echo/x', undefined, { Authorization: 'X-Matrix origin="bad name",key="ed25519:a",sig="x"' })).toMatchObject({ status: 400, body: { errcode: 'M_UNAUTHORIZED' } });
  });

  it('refuses loopback without the whitelist, before connecting', async () => {
    const before = bRequests;
    const client = createFederationClient(clientOptions({ ipRangeWhitelist: [] }));
    try {
      const error = await failure(client.request(bName, 'GET', '/_matrix/federation/v1/version'));
      expect(error).toBeInstanceOf(FederationClientError);
      expect(error).toMatchObject({ kind: 'blocked' });
      // A name resolving to loopback is refused the same way: the address is checked, not the name.
      const byName = createFederationClient(clientOptions({ ipRangeWhitelist: [], dns: { lookup: async () => ['::ffff:127.0.0.1'] } }));
      expect(await failure(byName.request(`localhost.test:${bName.split(':')[1]}`, 'GET', '/_matrix/federation/v1/version'))).toMatchObject({ kind: 'blocked' });
      byName.close();
    } finally {
      client.close();
    }
    expect(bRequests).toBe(before);
    expect(DEFAULT_BLOCKED_RANGES.length).toBeGreaterThan(0);
  });

  it('resolves through SRV when .well-known is unreachable: Host and SNI are the server name, not the SRV target', async () => {
    const port = Number(bName.split(':')[1]);
    const asked: string[] = [];
    const client = createFederationClient(clientOptions({
      ipRangeWhitelist: ['127.0.0.0/8'],
      dns: {
        // srv.test itself has an address where nothing listens on 443, so its .well-known fetch fails.
        lookup: async (name) => [name === 'target.test' ? '127.0.0.1' : '127.0.0.2'],
        srv: async (name) => {
          asked.push(name);
          return name === '_matrix-fed._tcp.srv.test' ? [{ name: 'target.test', port, priority: 0, weight: 0 }] : [];
        },
      },
    }));
    try {
      expect(await client.request('srv.test', 'GET', '/_matrix/federation/v1/connection')).toEqual({ host: 'srv.test', sni: 'srv.test' });
      expect(asked).toEqual(['_matrix-fed._tcp.srv.test']);
    } finally {
      client.close();
    }
  });

  it('refuses destinations outside the domain whitelist', async () => {
    const client = createFederationClient(clientOptions({ domainWhitelist: ['b.example'] }));
    expect(await failure(client.request(bName, 'GET', '/_matrix/federation/v1/version'))).toMatchObject({ kind: 'denied' });
    client.close();
  });

  it('checks certificates by default: an unknown authority is refused, a trusted one accepted', async () => {
    const client = createFederationClient(clientOptions({ verifyCertificates: true }));
    try {
      expect(await failure(client.request(bName, 'GET', '/_matrix/federation/v1/version'))).toMatchObject({ kind: 'tls' });
      // Trust the certificate the way NODE_EXTRA_CA_CERTS does: in the default store, no `ca` passed.
      const defaults = tls.getCACertificates('default');
      tls.setDefaultCACertificates([...defaults, cert]);
      try {
        const trusting = createFederationClient(clientOptions({ verifyCertificates: true }));
        expect(await trusting.request(bName, 'GET', '/_matrix/federation/v1/version')).toMatchObject({ server: { name: 'Strata' } });
        // The certificate names 127.0.0.1 and wk.test, not this delegated name.
        const wrongName = createFederationClient(clientOptions({ verifyCertificates: true, dns: { lookup: async () => ['127.0.0.1'] } }));
        expect(await failure(wrongName.request(`other.test:${bName.split(':')[1]}`, 'GET', '/_matrix/federation/v1/version'))).toMatchObject({ kind: 'tls' });
        trusting.close();
        wrongName.close();
      } finally {
        tls.setDefaultCACertificates(defaults);
      }
    } finally {
      client.close();
    }
  });

  it('times out on a server that accepts TLS but never answers, and on one that never finishes TLS', async () => {
    const silentPort = await listen(createHttpsServer({ cert, key }, () => undefined));
    const client = createFederationClient(clientOptions({ requestTimeoutMs: 300, connectTimeoutMs: 300 }));
    try {
      const started = Date.now();
      expect(await failure(client.request(`127.0.0.1:${silentPort}`, 'GET', '/_matrix/federation/v1/version'))).toMatchObject({ kind: 'timeout' });
      expect(Date.now() - started).toBeLessThan(2_000);
    } finally {
      client.close();
    }
    const tcpPort = await listen(createTcpServer(() => undefined));
    const connecting = createFederationClient(clientOptions({ requestTimeoutMs: 10_000, connectTimeoutMs: 300 }));
    try {
      const started = Date.now();
      expect(await failure(connecting.request(`127.0.0.1:${tcpPort}`, 'GET', '/_matrix/federation/v1/version'))).toMatchObject({ kind: 'connect' });
      expect(Date.now() - started).toBeLessThan(2_000);
    } finally {
      connecting.close();
    }
  });

  it('bounds the size of answers', async () => {
    const client = createFederationClient(clientOptions({ maxResponseBytes: 1024 }));
    try {
      expect(await failure(client.request(bName, 'GET', '/_matrix/federation/v1/big'))).toMatchObject({ kind: 'tooLarge' });
      expect(await client.request(bName, 'GET', '/_matrix/federation/v1/big', undefined, { maxResponseBytes: 128 * 1024 })).toMatchObject({ pad: expect.any(String) });
    } finally {
      client.close();
    }
  });

  it('fetches .well-known/matrix/server over HTTPS, following redirects, with cache headers', async () => {
    const wkPort = await listen(createHttpsServer({ cert, key }, (req, res) => {
      if (req.url === '/.well-known/matrix/server') {
        res.writeHead(302, { Location: `https://wk.test:${wkPort}/moved` }).end();
      } else if (req.url === '/moved') {
        res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'max-age=600' }).end(JSON.stringify({ 'm.server': 'matrix.wk.test:443' }));
      } else res.writeHead(404).end();
    }));
    const guards = {
      agent: new Agent(),
      lookup: async () => ['127.0.0.1'],
      addressPolicy: { allowed: [] as never[] },
      verifyCertificates: false,
      connectTimeoutMs: 2_000,
      responseTimeoutMs: 2_000,
      maxResponseBytes: 1024 * 1024,
    };
    // Loopback is refused without a whitelist: the well-known fetch fails as unreachable.
    expect(await fetchWellKnown('wk.test', guards, 'test', wkPort)).toMatchObject({ kind: 'unreachable' });
    const allowed = { ...guards, addressPolicy: { allowed: DEFAULT_BLOCKED_RANGES } };
    expect(await fetchWellKnown('wk.test', allowed, 'test', wkPort)).toEqual({
      kind: 'response', status: 200, body: { 'm.server': 'matrix.wk.test:443' }, headers: { cacheControl: ['max-age=600'], expires: undefined },
    });
    // A redirect loop ends as an invalid answer, not an endless chase.
    const loopPort = await listen(createHttpsServer({ cert, key }, (_req, res) => {
      res.writeHead(301, { Location: `https://wk.test:${loopPort}/.well-known/matrix/server` }).end();
    }));
    expect(await fetchWellKnown('wk.test', allowed, 'test', loopPort)).toMatchObject({ kind: 'response', status: 301, body: undefined });
    guards.agent.destroy();
  });
});

/** A raw HTTPS request to the receiving server, for headers the client would never send. */
const fetchRaw = (method: string, path: string, body: string | undefined, headers: Record<string, string>): Promise<{ status: number; body: unknown }> =>
  new Promise((resolve, reject) => {
    const contentHeaders = body === undefined ? {} : { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(body)) };
    const req = httpsRequest(
      { host: '127.0.0.1', port: Number(bName.split(':')[1]), method, path, headers: { ...headers, ...contentHeaders }, rejectUnauthorized: false, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null') }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
