/**
 * A fake remote homeserver for the federation sender's tests: a plain HTTPS server (self-signed
 * certificate) named `127.0.0.1:<port>` that records the transactions it is sent. The sender's
 * client must run with certificate checks off and 127.0.0.1 whitelisted.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import type { JsonObject } from '../../domain/index.ts';
import { loadTlsCredentials, type TlsCredentials } from '../../infra/server/index.ts';

/** One self-signed certificate for every recorder of the process (made on first use). */
let shared: Promise<TlsCredentials> | undefined;
const certificate = (): Promise<TlsCredentials> => {
  shared ??= (async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'strata-recorder-'));
    try {
      return await loadTlsCredentials({}, { dataDir: dir, serverName: '127.0.0.1', logger: pino({ level: 'silent' }) });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  })();
  return shared;
};

export type RemoteBehaviour = 'ok' | 'error' | 'hang' | 'refuse';
export interface ReceivedTransaction {
  readonly txnId: string;
  readonly body: JsonObject;
  readonly authorization: string;
  readonly status: number | 'hung';
}

/**
 * A remote homeserver that records `PUT /_matrix/federation/v1/send/{txnId}` and answers as told:
 * `ok` (200), `error` (500), `refuse` (400), `hang` (never answers); `delayMs` slows answers and
 * `down()` / `up()` close and reopen its port (connections refused meanwhile).
 */
export class TransactionRecorder {
  behaviour: RemoteBehaviour = 'ok';
  /** How long an answer takes (a slow server: what arrives meanwhile waits for the next transaction). */
  delayMs = 0;
  readonly transactions: ReceivedTransaction[] = [];
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  #port = 0;

  /** A recorder listening on a free port of 127.0.0.1. */
  static async start(): Promise<TransactionRecorder> {
    return new TransactionRecorder(await certificate()).up();
  }

  private constructor(credentials: TlsCredentials) {
    this.#server = createServer({ cert: credentials.cert, key: credentials.key }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const match = /^\/_matrix\/federation\/v1\/send\/([^/]+)$/.exec(req.url ?? '');
        if (req.method !== 'PUT' || match === null) {
          res.writeHead(404, { 'Content-Type': 'application/json' }).end('{"errcode":"M_UNRECOGNIZED"}');
          return;
        }
        const behaviour = this.behaviour;
        const status = behaviour === 'ok' ? 200 : behaviour === 'error' ? 500 : behaviour === 'refuse' ? 400 : 'hung';
        this.transactions.push({
          txnId: decodeURIComponent(match[1]!), body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as JsonObject,
          authorization: req.headers.authorization ?? '', status,
        });
        if (status === 'hung') return;
        setTimeout(() => {
          res.writeHead(status, { 'Content-Type': 'application/json' }).end(status === 200 ? '{"pdus":{}}' : '{"errcode":"M_UNKNOWN","error":"told to fail"}');
        }, this.delayMs);
      });
    });
    this.#server.on('connection', (socket: Socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
    });
  }

  get name(): string {
    return `127.0.0.1:${this.#port}`;
  }

  user(localpart: string): string {
    return `@${localpart}:${this.name}`;
  }

  async up(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(this.#port, '127.0.0.1', resolve));
    this.#port = (this.#server.address() as AddressInfo).port;
    return this;
  }

  /** Stops listening and cuts every connection: requests are refused until up() again. */
  async down(): Promise<void> {
    const closed = new Promise((resolve) => this.#server.close(resolve));
    for (const socket of this.#sockets) socket.destroy();
    await closed;
  }

  delivered(): ReceivedTransaction[] {
    return this.transactions.filter((txn) => txn.status === 200);
  }

  /** Event ids of the PDUs in acknowledged transactions, in order. */
  deliveredEventIds(): string[] {
    return this.delivered().flatMap((txn) => (txn.body.pdus as JsonObject[]).map((pdu) => String((pdu.content as JsonObject).id)));
  }

  deliveredEdus(): JsonObject[] {
    return this.delivered().flatMap((txn) => txn.body.edus as JsonObject[]);
  }
}
