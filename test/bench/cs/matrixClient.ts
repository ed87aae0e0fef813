/**
 * The few client-server API calls the benchmark makes, with a timeout on every request
 * and one run-wide abort signal, so nothing outlives the command.
 */
import { Agent, request as httpRequest } from 'node:http';
import { registrationMac } from './sharedSecret.ts';

export class MatrixHttpError extends Error {
  readonly status: number;
  readonly errcode: string | undefined;
  readonly retryAfterMs: number | undefined;
  constructor(method: string, path: string, status: number, body: unknown) {
    const object = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
    const errcode = typeof object.errcode === 'string' ? object.errcode : undefined;
    const detail = typeof object.error === 'string' ? object.error : JSON.stringify(body)?.slice(0, 200);
    super(`${method} ${path} → ${status}${errcode === undefined ? '' : ` ${errcode}`}: ${detail}`);
    this.status = status;
    this.errcode = errcode;
    this.retryAfterMs = typeof object.retry_after_ms === 'number' ? object.retry_after_ms : undefined;
  }
}

export type Json = Record<string, unknown>;

export interface Session {
  readonly userId: string;
  readonly accessToken: string;
}

export interface HttpOptions {
  readonly baseUrl: string;
  readonly timeoutMs: number;
  /** Aborts every outstanding request when the run ends. */
  readonly signal: AbortSignal;
}

/**
 * node:http with one keep-alive agent per origin rather than fetch: the load generator shares the
 * machine with the server it measures, and fetch (undici, a timeout signal per request) costs it
 * about three times the CPU per request.
 */
const agents = new Map<string, Agent>();
const agentFor = (origin: string): Agent => {
  let agent = agents.get(origin);
  if (agent === undefined) agents.set(origin, (agent = new Agent({ keepAlive: true, maxSockets: Infinity, scheduling: 'lifo' })));
  return agent;
};

const send = (url: URL, method: string, headers: Record<string, string>, payload: string | undefined, timeoutMs: number, signal: AbortSignal) =>
  new Promise<{ status: number; text: string }>((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const req = httpRequest(url, { method, headers, agent: agentFor(url.origin) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        cleanup();
        resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') });
      });
      res.on('error', fail);
    });
    const timer = setTimeout(() => req.destroy(new Error(`${method} ${url.pathname}: no answer within ${timeoutMs} ms`)), timeoutMs);
    const onAbort = () => req.destroy(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    const cleanup = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    };
    function fail(error: Error) {
      cleanup();
      reject(error);
    }
    signal.addEventListener('abort', onAbort, { once: true });
    req.on('error', fail);
    req.end(payload);
  });

export const request = async (
  http: HttpOptions,
  method: string,
  path: string,
  options: { token?: string; body?: unknown; timeoutMs?: number } = {},
): Promise<Json> => {
  const headers: Record<string, string> = {};
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
  if (payload !== undefined) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = String(Buffer.byteLength(payload));
  }
  const response = await send(new URL(`${http.baseUrl}${path}`), method, headers, payload, options.timeoutMs ?? http.timeoutMs, http.signal);
  let body: unknown;
  try {
    body = response.text === '' ? {} : JSON.parse(response.text);
  } catch {
    body = response.text;
  }
  if (response.status < 200 || response.status >= 300) throw new MatrixHttpError(method, path, response.status, body);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new Error(`${method} ${path}: expected a JSON object`);
  return body as Json;
};

/** Retries set-up calls the server rate-limits (429), a bounded number of times. */
export const withRetry = async <T>(call: () => Promise<T>, attempts = 5): Promise<T> => {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await call();
    } catch (error) {
      if (!(error instanceof MatrixHttpError) || error.status !== 429 || attempt >= attempts) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.min(error.retryAfterMs ?? 1000, 10_000)));
    }
  }
};

const str = (body: Json, key: string, what: string): string => {
  const value = body[key];
  if (typeof value !== 'string') throw new Error(`${what}: response has no string '${key}'`);
  return value;
};

/** Synapse-compatible shared-secret registration; the response carries a usable access token. */
export const registerWithSharedSecret = async (http: HttpOptions, secret: string, username: string, password: string): Promise<Session> => {
  const path = '/_synapse/admin/v1/register';
  const nonce = str(await request(http, 'GET', path), 'nonce', 'GET register nonce');
  const mac = registrationMac(secret, { nonce, username, password, admin: false });
  const body = await request(http, 'POST', path, { body: { nonce, username, password, admin: false, mac } });
  return { userId: str(body, 'user_id', 'register'), accessToken: str(body, 'access_token', 'register') };
};

/** `server.name` from the federation version endpoint, when the server exposes it. */
export const serverName = async (http: HttpOptions): Promise<string | undefined> => {
  try {
    const server = (await request(http, 'GET', '/_matrix/federation/v1/version', { timeoutMs: 5000 })).server as Json | undefined;
    return typeof server?.name === 'string' ? server.name : undefined;
  } catch {
    return undefined;
  }
};

/** The server's `/health` body when it answers one in JSON (Strata does; Synapse answers plain `OK`). */
export const healthReport = async (http: HttpOptions): Promise<Json | undefined> => {
  try {
    return await request(http, 'GET', '/health', { timeoutMs: 5000 });
  } catch {
    return undefined;
  }
};

const CS = '/_matrix/client/v3';

export const createRoom = async (http: HttpOptions, session: Session, name: string): Promise<string> =>
  str(await request(http, 'POST', `${CS}/createRoom`, { token: session.accessToken, body: { preset: 'public_chat', name } }), 'room_id', 'createRoom');

export const joinRoom = async (http: HttpOptions, session: Session, roomId: string): Promise<void> => {
  await request(http, 'POST', `${CS}/join/${encodeURIComponent(roomId)}`, { token: session.accessToken, body: {} });
};

export const uploadFilter = async (http: HttpOptions, session: Session, filter: Json): Promise<string> =>
  str(
    await request(http, 'POST', `${CS}/user/${encodeURIComponent(session.userId)}/filter`, { token: session.accessToken, body: filter }),
    'filter_id',
    'upload filter',
  );

export const sendMessage = async (http: HttpOptions, session: Session, roomId: string, txnId: string, content: Json): Promise<string> =>
  str(
    await request(http, 'PUT', `${CS}/rooms/${encodeURIComponent(roomId)}/send/m.room.message/${encodeURIComponent(txnId)}`, {
      token: session.accessToken,
      body: content,
    }),
    'event_id',
    'send',
  );

export interface SyncQuery {
  readonly since?: string;
  readonly filter?: string;
  readonly timeoutMs: number;
}

export const sync = async (http: HttpOptions, session: Session, query: SyncQuery): Promise<Json> => {
  const params = new URLSearchParams({ timeout: String(query.timeoutMs) });
  if (query.since !== undefined) params.set('since', query.since);
  if (query.filter !== undefined) params.set('filter', query.filter);
  // The long-poll itself may take timeoutMs; the request timeout comes on top of it.
  return request(http, 'GET', `${CS}/sync?${params}`, { token: session.accessToken, timeoutMs: query.timeoutMs + http.timeoutMs });
};

export const messagesBefore = async (http: HttpOptions, session: Session, roomId: string, from: string, limit: number): Promise<Json> => {
  const params = new URLSearchParams({ dir: 'b', from, limit: String(limit) });
  return request(http, 'GET', `${CS}/rooms/${encodeURIComponent(roomId)}/messages?${params}`, { token: session.accessToken });
};
