/**
 * A fake remote homeserver in the test process, for federation tests against a whole Strata: named
 * `127.0.0.1:<port>`, it listens with TLS on that port (a self-signed certificate, so Strata runs
 * with STRATA_FEDERATION_VERIFY_CERTIFICATES=false and 127.0.0.0/8 whitelisted), serves its own
 * ed25519 key at `/_matrix/key/v2/server`, takes Strata's transactions (`PUT /send`) and answers
 * every other request 404 — it never helps Strata fill a gap (`/get_missing_events`, `/event_auth`).
 * Every request it gets is recorded. `hang()` turns it into a server that accepts TCP connections
 * and never answers a byte. It signs X-Matrix requests to Strata, for any destination and with any key.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { ownServerKeys, signingKeyFromSeed, signXMatrixRequest, type JsonObject, type SigningKey } from '../../domain/index.ts';
import { loadTlsCredentials } from '../../infra/server/index.ts';
import type { Body } from './client.ts';

export interface ReceivedRequest {
  readonly method: string;
  readonly path: string;
  readonly body: unknown;
  readonly at: number;
}

export interface SignedRequestOptions {
  /** The destination the signature names; Strata's server name by default. */
  readonly destination?: string;
  /** The key that signs the request; the server's own by default. */
  readonly key?: SigningKey;
}

/** A JSON answer, or bytes of any type (`raw`, e.g. a multipart media answer). */
export type FakeReply = { status: number; body: JsonObject } | { status: number; raw: Uint8Array; contentType: string };

export interface FakeRemoteServer {
  readonly serverName: string;
  readonly key: SigningKey;
  /** Every request Strata made, oldest first. */
  readonly received: ReceivedRequest[];
  /** From now on: accept connections, never answer (open connections are dropped first). */
  hang(): void;
  /**
   * Answers requests whose path starts with `prefix` with `reply` from now on (over the defaults;
   * the newest route first). `reply` sees the request and its parsed body.
   */
  serve(method: string, prefix: string, reply: (request: ReceivedRequest) => FakeReply): void;
  /** Connections accepted while hanging. */
  readonly hungConnections: () => number;
  /** A request to Strata signed as this server; answers status and parsed JSON body. */
  request(method: string, path: string, body?: JsonObject, options?: SignedRequestOptions): Promise<{ status: number; body: Body }>;
  stop(): Promise<void>;
}

/** Strata as a fake server talks to it. */
export interface StrataTarget {
  readonly url: string;
  readonly serverName: string;
}

const readBody = (request: NodeJS.ReadableStream): Promise<string> => new Promise((resolve, reject) => {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
  request.on('error', reject);
});

const parseJson = (text: string): unknown => {
  try {
    return text === '' ? undefined : JSON.parse(text);
  } catch {
    return text;
  }
};

export interface FakeRemoteOptions {
  readonly seed?: Uint8Array;
  /** How long its published key document says its key stays valid (negative: expired); a day by default. */
  readonly keyValidForMs?: number;
}

export const startFakeRemoteServer = async (strata: StrataTarget, options: FakeRemoteOptions = {}): Promise<FakeRemoteServer> => {
  const sockets = new Set<Socket>();
  let hanging = false;
  let hung = 0;
  const front = createTcpServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    // A hanging server keeps the connection open and never reads or writes.
    if (hanging) hung++;
    else tls.emit('connection', socket);
  });
  await new Promise<void>((resolve, reject) => {
    front.once('error', reject);
    front.listen(0, '127.0.0.1', resolve);
  });
  const serverName = `127.0.0.1:${(front.address() as AddressInfo).port}`;
  const key = signingKeyFromSeed(serverName, 'ed25519:fake', options.seed ?? randomBytes(32));
  const certificateDir = await mkdtemp(path.join(tmpdir(), 'strata-fake-remote-'));
  const credentials = await loadTlsCredentials({}, { dataDir: certificateDir, serverName, logger: pino({ level: 'silent' }) });
  const received: ReceivedRequest[] = [];
  const routes: { method: string; prefix: string; reply: (request: ReceivedRequest) => FakeReply }[] = [];

  const tls: HttpsServer = createHttpsServer({ cert: credentials.cert, key: credentials.key }, (request, response) => {
    void (async () => {
      const body = parseJson(await readBody(request));
      const target = request.url ?? '';
      const record = { method: request.method ?? '', path: target, body, at: Date.now() };
      received.push(record);
      const answer = (status: number, json: JsonObject): void => {
        response.writeHead(status, { 'Content-Type': 'application/json' });
        response.end(JSON.stringify(json));
      };
      const route = routes.find((candidate) => candidate.method === record.method && target.startsWith(candidate.prefix));
      if (route !== undefined) {
        const reply = route.reply(record);
        if ('raw' in reply) {
          response.writeHead(reply.status, { 'Content-Type': reply.contentType, 'Content-Length': String(reply.raw.length) });
          response.end(reply.raw);
        } else answer(reply.status, reply.body);
      } else if (request.method === 'GET' && target.startsWith('/_matrix/key/v2/server')) answer(200, ownServerKeys(key, [], Date.now() + (options.keyValidForMs ?? 24 * 60 * 60 * 1000)));
      else if (request.method === 'PUT' && target.startsWith('/_matrix/federation/v1/send/')) answer(200, { pdus: {} });
      else answer(404, { errcode: 'M_NOT_FOUND', error: 'this fake server does not serve that' });
    })();
  });

  return {
    serverName,
    key,
    received,
    hungConnections: () => hung,
    serve(method, prefix, reply) {
      routes.unshift({ method, prefix, reply });
    },
    hang() {
      hanging = true;
      for (const socket of sockets) socket.destroy();
    },
    async request(method, target, body, options = {}) {
      const authorization = signXMatrixRequest({
        method, uri: target, destination: options.destination ?? strata.serverName, ...(body === undefined ? {} : { content: body }),
      }, options.key ?? key);
      const response = await fetch(`${strata.url}${target}`, {
        method,
        headers: { Authorization: authorization, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await response.text();
      return { status: response.status, body: parseJson(text) as Body };
    },
    async stop() {
      hanging = true;
      for (const socket of sockets) socket.destroy();
      tls.close();
      await new Promise<void>((resolve) => front.close(() => resolve()));
      await rm(certificateDir, { recursive: true, force: true });
    },
  };
};
