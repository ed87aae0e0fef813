/**
 * A small typed client-server HTTP client for e2e tests: requests that fail loudly with the server's
 * answer, error assertions by status and errcode, registration through user-interactive auth,
 * shared-secret registration, and /sync waits that long-poll until a condition holds (never sleeps).
 *
 * Paths are relative to `/_matrix/client/v3` unless they start with `/_` (e.g. `/_matrix/client/versions`).
 */
import { createHmac } from 'node:crypto';
import { expect } from 'vitest';

/** A JSON object from the server, read loosely: tests assert on its shape. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Body = Record<string, any>;

export interface Reply {
  readonly status: number;
  readonly body: Body;
  readonly headers: Headers;
}

export interface Session {
  readonly userId: string;
  readonly accessToken: string;
  readonly deviceId: string;
}

export type Query = Readonly<Record<string, string | number | boolean | undefined>>;

export interface RequestOptions {
  readonly token?: string;
  /** Sent as JSON. */
  readonly json?: unknown;
  /** Sent verbatim as `application/json` (for malformed bodies). */
  readonly raw?: string;
  readonly query?: Query;
}

export interface ExpectedError {
  readonly status: number;
  readonly errcode: string;
}

export const PASSWORD = 'correct horse battery staple';
const CLIENT_V3 = '/_matrix/client/v3';

export const e = encodeURIComponent;

export class MatrixClient {
  readonly url: string;

  constructor(url: string) {
    this.url = url;
  }

  async request(method: string, path: string, options: RequestOptions = {}): Promise<Reply> {
    const headers: Record<string, string> = {};
    if (options.json !== undefined || options.raw !== undefined) headers['content-type'] = 'application/json';
    if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
    const query = new URLSearchParams(Object.entries(options.query ?? {})
      .filter((entry): entry is [string, string | number | boolean] => entry[1] !== undefined)
      .map(([key, value]): [string, string] => [key, String(value)])).toString();
    const url = `${this.url}${path.startsWith('/_') ? '' : CLIENT_V3}${path}${query === '' ? '' : `?${query}`}`;
    const body = options.raw ?? (options.json === undefined ? undefined : JSON.stringify(options.json));
    const response = await fetch(url, { method, headers, ...(body === undefined ? {} : { body }) });
    const text = await response.text();
    let parsed: Body;
    try {
      parsed = JSON.parse(text) as Body;
    } catch {
      throw new Error(`${method} ${path} → ${response.status} with a body that is not JSON: ${text.slice(0, 200)}`);
    }
    // STRATA_VALIDATE_SPEC=1: every response is checked against the spec's OpenAPI, violations recorded.
    if (process.env.STRATA_VALIDATE_SPEC === '1') {
      const { recordSpecCheck } = await import('../conformance/specHook.ts');
      recordSpecCheck(method, new URL(url).pathname, response.status, parsed);
    }
    return { status: response.status, body: parsed, headers: response.headers };
  }

  /** The body of a 200 answer; any other status throws with the server's answer. */
  async ok(method: string, path: string, options: RequestOptions = {}): Promise<Body> {
    const reply = await this.request(method, path, options);
    if (reply.status !== 200) throw new Error(`${method} ${path} → ${reply.status} ${JSON.stringify(reply.body)}`);
    return reply.body;
  }

  /** Asserts the request fails with exactly this status and errcode; returns the error body. */
  async fails(method: string, path: string, expected: ExpectedError, options: RequestOptions = {}): Promise<Body> {
    const reply = await this.request(method, path, options);
    expect({ request: `${method} ${path}`, status: reply.status, errcode: reply.body.errcode })
      .toEqual({ request: `${method} ${path}`, ...expected });
    expect(typeof reply.body.error === 'string' || reply.body.error === undefined).toBe(true);
    return reply.body;
  }

  /** Registers through the dummy user-interactive auth flow (401 with a session, then 200). */
  async register(username: string, password = PASSWORD): Promise<Session> {
    const challenge = await this.request('POST', '/register', { json: { username, password } });
    if (challenge.status !== 401 || typeof challenge.body.session !== 'string') {
      throw new Error(`register ${username}: expected a 401 UIA challenge, got ${challenge.status} ${JSON.stringify(challenge.body)}`);
    }
    return sessionOf(await this.ok('POST', '/register', {
      json: { username, password, auth: { type: 'm.login.dummy', session: challenge.body.session } },
    }));
  }

  /** Synapse-compatible shared-secret registration (`/_synapse/admin/v1/register`). */
  async registerWithSharedSecret(secret: string, username: string, options: { admin?: boolean; password?: string } = {}): Promise<Session> {
    const password = options.password ?? PASSWORD;
    const admin = options.admin ?? false;
    const { nonce } = await this.ok('GET', '/_synapse/admin/v1/register');
    const mac = createHmac('sha1', secret)
      .update([nonce, username, password, admin ? 'admin' : 'notadmin'].join('\0'), 'utf8').digest('hex');
    return sessionOf(await this.ok('POST', '/_synapse/admin/v1/register', { json: { nonce, username, password, admin, mac } }));
  }

  async login(user: string, options: { password?: string; deviceId?: string } = {}): Promise<Session> {
    return sessionOf(await this.ok('POST', '/login', {
      json: {
        type: 'm.login.password',
        identifier: { type: 'm.id.user', user },
        password: options.password ?? PASSWORD,
        ...(options.deviceId === undefined ? {} : { device_id: options.deviceId }),
      },
    }));
  }

  /** The same client acting as one signed-in user. */
  as(session: Session): UserClient {
    return new UserClient(this, session);
  }
}

const sessionOf = (body: Body): Session => {
  if (typeof body.user_id !== 'string' || typeof body.access_token !== 'string' || typeof body.device_id !== 'string') {
    throw new Error(`not a session: ${JSON.stringify(body)}`);
  }
  return { userId: body.user_id, accessToken: body.access_token, deviceId: body.device_id };
};

export interface SyncWait {
  /** Stream token to wait from (absent: an initial sync first). */
  readonly since?: string;
  /** Filter (JSON text or filter id). */
  readonly filter?: string;
  readonly timeoutMs?: number;
  /** Further /sync query parameters (e.g. `{ use_state_after: true }`). */
  readonly query?: Query;
}

/** Requests as one user: each method answers the 200 body or throws with the server's answer. */
export class UserClient {
  readonly client: MatrixClient;
  readonly session: Session;

  constructor(client: MatrixClient, session: Session) {
    this.client = client;
    this.session = session;
  }

  get userId(): string {
    return this.session.userId;
  }

  get = (path: string, query?: Query): Promise<Body> => this.client.ok('GET', path, { token: this.session.accessToken, ...(query === undefined ? {} : { query }) });
  put = (path: string, json: unknown = {}): Promise<Body> => this.client.ok('PUT', path, { token: this.session.accessToken, json });
  post = (path: string, json: unknown = {}): Promise<Body> => this.client.ok('POST', path, { token: this.session.accessToken, json });
  delete = (path: string): Promise<Body> => this.client.ok('DELETE', path, { token: this.session.accessToken });
  request = (method: string, path: string, options: Omit<RequestOptions, 'token'> = {}): Promise<Reply> =>
    this.client.request(method, path, { token: this.session.accessToken, ...options });
  fails = (method: string, path: string, expected: ExpectedError, options: Omit<RequestOptions, 'token'> = {}): Promise<Body> =>
    this.client.fails(method, path, expected, { token: this.session.accessToken, ...options });

  createRoom = async (request: Body = {}): Promise<string> => (await this.post('/createRoom', request)).room_id as string;

  /** Sends an m.text message; answers its event id. */
  send = async (roomId: string, text: string, txnId = `txn-${Math.random().toString(36).slice(2)}`): Promise<string> =>
    (await this.put(`/rooms/${e(roomId)}/send/m.room.message/${e(txnId)}`, { msgtype: 'm.text', body: text })).event_id as string;

  sync = (query: Query = {}): Promise<Body> => this.get('/sync', query);

  /**
   * Long-polls /sync from `since` until one response satisfies `until`, and answers that response.
   * Fails once `timeoutMs` (default 20 s) has passed without one.
   */
  async syncUntil(until: (response: Body) => boolean, wait: SyncWait = {}): Promise<Body> {
    const deadline = Date.now() + (wait.timeoutMs ?? 20_000);
    let since = wait.since;
    for (;;) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`${this.userId}: /sync did not show the expected change in time (since ${since ?? 'start'})`);
      const response = await this.sync({
        ...(since === undefined ? {} : { since, timeout: Math.min(remaining, 10_000) }),
        ...(wait.filter === undefined ? {} : { filter: wait.filter }),
        ...wait.query,
      });
      if (until(response)) return response;
      since = response.next_batch as string;
    }
  }
}
