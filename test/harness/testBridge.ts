/**
 * A small bridge written for the tests: a plain node:http server implementing the application
 * service side of the spec (application-service-api.md) against any homeserver, Strata or Synapse.
 *
 * - `PUT /_matrix/app/v1/transactions/{txnId}`: transactions recorded in arrival order, a txnId seen
 *   before answered 200 again and not recorded twice (the homeserver retries what it was not sure of);
 * - `GET /_matrix/app/v1/users/{userId}`: users of the remote network (`remoteUsers`) are registered
 *   as puppets through the client API, then answered 200; others 404;
 * - `GET /_matrix/app/v1/rooms/{alias}`: remote rooms (`remoteRooms`) become portal rooms, created
 *   with that alias by the bridge's own user before answering 200; others 404;
 * - `POST /_matrix/app/v1/ping`, and `/thirdparty/{protocol,location,user}` for the one protocol
 *   its registration declares.
 *
 * It can refuse its next transactions with 503 (`refuseTransactions`), as a bridge failing for a
 * moment does, keeping what they carried to compare with the retries.
 *
 * Every request must carry `Authorization: Bearer <hs_token>`: none is answered 401, another token
 * 403, and both are recorded in `violations` (tests assert there are none). The bridge can be
 * stopped (its port refuses connections, as a crashed bridge's does) and started again on the same
 * port. `client` calls the homeserver as the bridge: as_token, `user_id` masquerading, `ts`.
 *
 * The registration comes from test/fixtures/appservice/testBridge.yaml, the file
 * infra/services/synapse.sh lists in Synapse's config as well.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { type Body, type Query, type Reply } from './client.ts';
import { freePort } from './ports.ts';

export const TEST_BRIDGE_REGISTRATION_FILE = fileURLToPath(new URL('../fixtures/appservice/testBridge.yaml', import.meta.url));

export interface TestBridgeRegistration {
  /** The file's mapping, as a homeserver reads it. */
  readonly raw: Readonly<Record<string, unknown>>;
  readonly id: string;
  readonly asToken: string;
  readonly hsToken: string;
  readonly senderLocalpart: string;
  /** Localpart prefix of its exclusive user namespace (`@bridge_.*` → `bridge_`). */
  readonly userPrefix: string;
  /** Localpart prefix of its exclusive alias namespace (`#bridge_.*` → `bridge_`). */
  readonly aliasPrefix: string;
  /** The one third-party protocol it declares. */
  readonly protocol: string;
}

const prefixOf = (regex: unknown, sigil: string): string => {
  if (typeof regex !== 'string' || !regex.startsWith(sigil) || !regex.endsWith('.*')) {
    throw new Error(`test bridge registration: namespace regex ${String(regex)} is not ${sigil}<prefix>.*`);
  }
  return regex.slice(1, -2);
};

/** The test bridge's registration, read from its fixture. */
export const testBridgeRegistration = (): TestBridgeRegistration => {
  const raw = parseYaml(readFileSync(TEST_BRIDGE_REGISTRATION_FILE, 'utf8')) as Record<string, unknown>;
  const namespaces = raw.namespaces as { users: { regex: string }[]; aliases: { regex: string }[] };
  const protocols = raw.protocols as string[];
  return {
    raw,
    id: raw.id as string,
    asToken: raw.as_token as string,
    hsToken: raw.hs_token as string,
    senderLocalpart: raw.sender_localpart as string,
    userPrefix: prefixOf(namespaces.users[0]?.regex, '@'),
    aliasPrefix: prefixOf(namespaces.aliases[0]?.regex, '#'),
    protocol: protocols[0] as string,
  };
};

/** Writes the registration with the url of a bridge at `url` into `dir`; answers the file's path. */
export const writeTestBridgeRegistration = async (dir: string, url: string): Promise<string> => {
  const file = path.join(dir, 'test-bridge.yaml');
  await writeFile(file, toYaml({ ...testBridgeRegistration().raw, url }));
  return file;
};

/** One transaction as the bridge received it (the first time). */
export interface ReceivedBridgeTransaction {
  readonly txnId: string;
  readonly events: readonly Body[];
  readonly ephemeral: readonly Body[];
  readonly toDevice: readonly Body[];
  /** `performance.now()` when it arrived. */
  readonly receivedAt: number;
}

/** A room event as the bridge received it, with when. */
export interface ReceivedBridgeEvent {
  readonly event: Body;
  readonly txnId: string;
  readonly receivedAt: number;
}

export interface BridgeQuery {
  readonly kind: 'user' | 'alias' | 'ping' | 'protocol' | 'location' | 'thirdparty-user';
  /** The user id, alias, protocol, or the ping's transaction_id. */
  readonly subject: string;
  readonly query: Readonly<Record<string, string>>;
}

/** A room on the remote network the bridge can open a portal to, and where it ended up. */
export interface RemoteRoom {
  readonly name: string;
  /** Set once a portal room was created for it. */
  roomId?: string;
}

export interface TestBridgeOptions {
  /** The homeserver's client API base URL, e.g. `http://127.0.0.1:18008`. */
  readonly homeserverUrl: string;
  readonly serverName: string;
  /** Port to listen on (Synapse's registration names a fixed one); a free one by default. */
  readonly port?: number;
}

/** Calls the homeserver as the bridge: the as_token, optionally as one of its users, optionally with `ts`. */
export class BridgeClient {
  readonly homeserverUrl: string;
  readonly asToken: string;

  constructor(homeserverUrl: string, asToken: string) {
    this.homeserverUrl = homeserverUrl;
    this.asToken = asToken;
  }

  /**
   * `as`: a user id to masquerade as (`user_id`); `ts`: the massaged timestamp. Paths are relative
   * to `/_matrix/client/v3` unless they start with `/_`.
   */
  async request(method: string, requestPath: string, options: { json?: unknown; query?: Query; as?: string; ts?: number; token?: string } = {}): Promise<Reply> {
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(options.query ?? {})) if (value !== undefined) query.set(key, String(value));
    if (options.as !== undefined) query.set('user_id', options.as);
    if (options.ts !== undefined) query.set('ts', String(options.ts));
    const qs = query.toString();
    const url = `${this.homeserverUrl}${requestPath.startsWith('/_') ? '' : '/_matrix/client/v3'}${requestPath}${qs === '' ? '' : `?${qs}`}`;
    const headers: Record<string, string> = { authorization: `Bearer ${options.token ?? this.asToken}` };
    if (options.json !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(url, { method, headers, ...(options.json === undefined ? {} : { body: JSON.stringify(options.json) }) });
    const text = await response.text();
    let body: Body;
    try {
      body = JSON.parse(text) as Body;
    } catch {
      throw new Error(`${method} ${requestPath} → ${response.status} with a body that is not JSON: ${text.slice(0, 200)}`);
    }
    if (process.env.STRATA_VALIDATE_SPEC === '1') {
      const { recordSpecCheck } = await import('../conformance/specHook.ts');
      recordSpecCheck(method, new URL(url).pathname, response.status, body);
    }
    return { status: response.status, body, headers: response.headers };
  }

  /** The body of a 200 answer; anything else throws with the homeserver's answer. */
  async ok(method: string, requestPath: string, options: { json?: unknown; query?: Query; as?: string; ts?: number } = {}): Promise<Body> {
    const reply = await this.request(method, requestPath, options);
    if (reply.status !== 200) throw new Error(`bridge: ${method} ${requestPath} → ${reply.status} ${JSON.stringify(reply.body)}`);
    return reply.body;
  }

  /** Registers a puppet (`m.login.application_service`); answers its user id and device id. */
  async registerPuppet(localpart: string, options: { inhibitLogin?: boolean } = {}): Promise<{ userId: string; deviceId?: string }> {
    const body = await this.ok('POST', '/register', {
      json: { type: 'm.login.application_service', username: localpart, ...(options.inhibitLogin === true ? { inhibit_login: true } : {}) },
    });
    return { userId: body.user_id as string, ...(typeof body.device_id === 'string' ? { deviceId: body.device_id } : {}) };
  }

  /** Sends an m.text message as `userId`, at `ts` when given; answers the event id. */
  async send(roomId: string, userId: string, text: string, options: { ts?: number; txnId?: string } = {}): Promise<string> {
    const txnId = options.txnId ?? `bridge-${Date.now()}-${Math.random().toString(36).slice(2)}`;
    const body = await this.ok('PUT', `/rooms/${encodeURIComponent(roomId)}/send/m.room.message/${encodeURIComponent(txnId)}`, {
      json: { msgtype: 'm.text', body: text }, as: userId, ...(options.ts === undefined ? {} : { ts: options.ts }),
    });
    return body.event_id as string;
  }
}

const json = (res: ServerResponse, status: number, body: unknown): void => {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
};

const readBody = (req: IncomingMessage): Promise<string> => new Promise((resolve, reject) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk)).on('end', () => resolve(Buffer.concat(chunks).toString('utf8'))).on('error', reject);
});

const list = (value: unknown): Body[] => (Array.isArray(value) ? (value as Body[]) : []);

export class TestBridge {
  readonly registration: TestBridgeRegistration;
  readonly homeserverUrl: string;
  readonly serverName: string;
  readonly port: number;
  readonly client: BridgeClient;
  /** Transactions in arrival order, each once. */
  readonly transactions: ReceivedBridgeTransaction[] = [];
  /** Every room event of those transactions, in arrival order. */
  readonly events: ReceivedBridgeEvent[] = [];
  readonly ephemeral: Body[] = [];
  readonly toDevice: Body[] = [];
  readonly queries: BridgeQuery[] = [];
  /** Requests that broke the spec's rules for the homeserver (authentication, bad transactions). */
  readonly violations: string[] = [];
  /** Transactions the homeserver sent again with a txnId already received. */
  redelivered = 0;
  /** How many of the next new transactions to answer 503 (a bridge failing for a moment), recorded in `refused`. */
  refuseTransactions = 0;
  readonly refused: { readonly txnId: string; readonly events: readonly Body[] }[] = [];
  /** Localparts of users who exist on the remote network (answered by user queries). */
  readonly remoteUsers = new Set<string>();
  /** Alias localparts (without `#`) of rooms on the remote network (answered by alias queries). */
  readonly remoteRooms = new Map<string, RemoteRoom>();
  /** Users the bridge registered while answering user queries. */
  readonly puppetsFromQueries: string[] = [];
  private server: Server | undefined;
  private readonly seen = new Set<string>();
  private readonly waiters = new Set<() => void>();

  private constructor(registration: TestBridgeRegistration, options: TestBridgeOptions, port: number) {
    this.registration = registration;
    this.homeserverUrl = options.homeserverUrl;
    this.serverName = options.serverName;
    this.port = port;
    this.client = new BridgeClient(options.homeserverUrl, registration.asToken);
  }

  static async start(options: TestBridgeOptions): Promise<TestBridge> {
    const bridge = new TestBridge(testBridgeRegistration(), options, options.port ?? await freePort());
    await bridge.start();
    return bridge;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The bridge's own user, `@<sender_localpart>:<server>`. */
  get sender(): string {
    return `@${this.registration.senderLocalpart}:${this.serverName}`;
  }

  /** Listens (again) on the bridge's port. */
  async start(): Promise<void> {
    if (this.server !== undefined) return;
    const server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        this.violations.push(`bridge failed on ${req.method} ${req.url}: ${error instanceof Error ? error.message : String(error)}`);
        if (!res.headersSent) json(res, 500, { errcode: 'M_UNKNOWN', error: 'test bridge failure' });
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    if ((server.address() as AddressInfo).port !== this.port) throw new Error('test bridge: listening on another port');
    this.server = server;
  }

  /** Stops listening and drops open connections: the homeserver's next attempts are refused. */
  async stop(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /**
   * `POST /_matrix/client/v1/appservice/{id}/ping`, as bridges do on start: the homeserver pings the
   * bridge back (Synapse also retries at once what it holds for a bridge it had marked down).
   */
  ping(transactionId: string): Promise<Reply> {
    return this.client.request('POST', `/_matrix/client/v1/appservice/${encodeURIComponent(this.registration.id)}/ping`, { json: { transaction_id: transactionId } });
  }

  /** Resolves once `condition` holds (re-checked on every request the bridge gets); throws after `timeoutMs`. */
  async waitFor(what: string, condition: () => boolean, timeoutMs = 30_000): Promise<void> {
    if (condition()) return;
    await new Promise<void>((resolve, reject) => {
      const check = () => {
        if (!condition()) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`test bridge: ${what} did not happen within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.add(check);
    });
  }

  /** Room events received for `roomId`, in arrival order. */
  eventsIn(roomId: string): Body[] {
    return this.events.filter((received) => received.event.room_id === roomId).map((received) => received.event);
  }

  /** Waits until an event matching `match` arrived; answers it. */
  async waitForEvent(what: string, match: (event: Body) => boolean, timeoutMs?: number): Promise<Body> {
    await this.waitFor(what, () => this.events.some((received) => match(received.event)), timeoutMs);
    return this.events.find((received) => match(received.event))!.event;
  }

  private notify(): void {
    for (const waiter of [...this.waiters]) waiter();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    const authorization = req.headers.authorization;
    if (authorization === undefined) {
      this.violations.push(`${req.method} ${url.pathname}: no Authorization header`);
      return json(res, 401, { errcode: 'NET.STRATA.TEST_BRIDGE_UNAUTHORIZED', error: 'no hs_token' });
    }
    if (authorization !== `Bearer ${this.registration.hsToken}`) {
      this.violations.push(`${req.method} ${url.pathname}: Authorization is not the hs_token`);
      return json(res, 403, { errcode: 'NET.STRATA.TEST_BRIDGE_FORBIDDEN', error: 'wrong hs_token' });
    }
    const query = Object.fromEntries(url.searchParams);
    const parts = url.pathname.split('/').slice(1).map((part) => decodeURIComponent(part));
    if (parts[0] !== '_matrix' || parts[1] !== 'app' || parts[2] !== 'v1') {
      this.violations.push(`${req.method} ${url.pathname}: not under /_matrix/app/v1`);
      return json(res, 404, { errcode: 'M_UNRECOGNIZED', error: 'unknown path' });
    }
    const [endpoint, ...rest] = parts.slice(3);
    const body = req.method === 'GET' ? '' : await readBody(req);
    if (req.method === 'PUT' && endpoint === 'transactions' && rest.length === 1) return this.transaction(rest[0]!, body, res);
    if (req.method === 'GET' && endpoint === 'users' && rest.length === 1) return this.userQuery(rest[0]!, query, res);
    if (req.method === 'GET' && endpoint === 'rooms' && rest.length === 1) return this.aliasQuery(rest[0]!, query, res);
    if (req.method === 'POST' && endpoint === 'ping' && rest.length === 0) {
      const parsed = (body === '' ? {} : JSON.parse(body)) as Body;
      this.queries.push({ kind: 'ping', subject: typeof parsed.transaction_id === 'string' ? parsed.transaction_id : '', query });
      this.notify();
      return json(res, 200, {});
    }
    if (req.method === 'GET' && endpoint === 'thirdparty') return this.thirdParty(rest, query, res);
    return json(res, 404, { errcode: 'M_UNRECOGNIZED', error: 'unknown endpoint' });
  }

  private transaction(txnId: string, text: string, res: ServerResponse): void {
    if (this.seen.has(txnId)) {
      this.redelivered += 1;
      return json(res, 200, {});
    }
    let body: Body;
    try {
      body = JSON.parse(text) as Body;
    } catch {
      this.violations.push(`transaction ${txnId}: body is not JSON`);
      return json(res, 400, { errcode: 'M_NOT_JSON', error: 'not JSON' });
    }
    if (!Array.isArray(body.events)) this.violations.push(`transaction ${txnId}: no events array`);
    if (this.refuseTransactions > 0) {
      this.refuseTransactions -= 1;
      this.refused.push({ txnId, events: list(body.events) });
      json(res, 503, { errcode: 'NET.STRATA.TEST_BRIDGE_UNAVAILABLE', error: 'refused for the test' });
      this.notify();
      return;
    }
    const receivedAt = performance.now();
    const received: ReceivedBridgeTransaction = {
      txnId,
      events: list(body.events),
      ephemeral: list(body.ephemeral),
      // The spec has no to-device key yet (MSC4203); Synapse sends MSC2409's unstable one.
      toDevice: list(body['de.sorunome.msc2409.to_device'] ?? body.to_device),
      receivedAt,
    };
    this.seen.add(txnId);
    this.transactions.push(received);
    for (const event of received.events) this.events.push({ event, txnId, receivedAt });
    this.ephemeral.push(...received.ephemeral);
    this.toDevice.push(...received.toDevice);
    json(res, 200, {});
    this.notify();
  }

  private async userQuery(userId: string, query: Record<string, string>, res: ServerResponse): Promise<void> {
    this.queries.push({ kind: 'user', subject: userId, query });
    this.notify();
    const localpart = userId.slice(1, userId.indexOf(':'));
    if (!userId.startsWith('@') || !this.remoteUsers.has(localpart)) {
      return json(res, 404, { errcode: 'NET.STRATA.TEST_BRIDGE_NOT_FOUND', error: 'no such remote user' });
    }
    const puppet = await this.client.registerPuppet(localpart, { inhibitLogin: true });
    this.puppetsFromQueries.push(puppet.userId);
    json(res, 200, {});
  }

  private async aliasQuery(alias: string, query: Record<string, string>, res: ServerResponse): Promise<void> {
    this.queries.push({ kind: 'alias', subject: alias, query });
    this.notify();
    const localpart = alias.startsWith('#') ? alias.slice(1, alias.indexOf(':')) : '';
    const remote = this.remoteRooms.get(localpart);
    if (remote === undefined) return json(res, 404, { errcode: 'NET.STRATA.TEST_BRIDGE_NOT_FOUND', error: 'no such remote room' });
    // The spec: the bridge MUST have created the room with this alias before answering 200.
    const created = await this.client.ok('POST', '/createRoom', {
      json: { room_alias_name: localpart, name: remote.name, preset: 'public_chat', visibility: 'private' },
    });
    remote.roomId = created.room_id as string;
    json(res, 200, {});
    this.notify();
  }

  private thirdParty(rest: readonly string[], query: Record<string, string>, res: ServerResponse): void {
    const [kind, protocol] = rest;
    const ours = protocol === this.registration.protocol;
    if (kind === 'protocol' && rest.length === 2) {
      this.queries.push({ kind: 'protocol', subject: protocol!, query });
      if (!ours) return json(res, 404, { errcode: 'NET.STRATA.TEST_BRIDGE_NOT_FOUND', error: 'unknown protocol' });
      return json(res, 200, {
        user_fields: ['username'],
        location_fields: ['channel'],
        icon: 'mxc://example.org/testnet',
        field_types: {
          username: { regexp: '[a-z0-9_]+', placeholder: 'alice' },
          channel: { regexp: '[a-z0-9_]+', placeholder: 'lobby' },
        },
        instances: [{ desc: 'TestNet', icon: 'mxc://example.org/testnet', fields: {}, network_id: 'testnet-main' }],
      });
    }
    if (kind === 'location' && rest.length === 2) {
      this.queries.push({ kind: 'location', subject: protocol!, query });
      if (!ours) return json(res, 404, { errcode: 'NET.STRATA.TEST_BRIDGE_NOT_FOUND', error: 'unknown protocol' });
      const channel = query.channel;
      const found = [...this.remoteRooms.keys()].filter((localpart) => channel === undefined || localpart.endsWith(`_${channel}`));
      return json(res, 200, found.map((localpart) => ({
        alias: `#${localpart}:${this.serverName}`, protocol: this.registration.protocol, fields: { channel: localpart.slice(localpart.lastIndexOf('_') + 1) },
      })));
    }
    if (kind === 'user' && rest.length === 2) {
      this.queries.push({ kind: 'thirdparty-user', subject: protocol!, query });
      if (!ours) return json(res, 404, { errcode: 'NET.STRATA.TEST_BRIDGE_NOT_FOUND', error: 'unknown protocol' });
      const username = query.username;
      const found = [...this.remoteUsers].filter((localpart) => username === undefined || localpart.endsWith(`_${username}`));
      return json(res, 200, found.map((localpart) => ({
        userid: `@${localpart}:${this.serverName}`, protocol: this.registration.protocol, fields: { username: localpart.slice(localpart.lastIndexOf('_') + 1) },
      })));
    }
    return json(res, 404, { errcode: 'M_UNRECOGNIZED', error: 'unknown third-party endpoint' });
  }
}
