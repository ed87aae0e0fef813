/**
 * The few client-server API calls the benchmark makes, over fetch with a timeout on every request
 * and one run-wide abort signal, so nothing outlives the command.
 */
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

export const request = async (
  http: HttpOptions,
  method: string,
  path: string,
  options: { token?: string; body?: unknown; timeoutMs?: number } = {},
): Promise<Json> => {
  const headers: Record<string, string> = {};
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${http.baseUrl}${path}`, {
    method,
    headers,
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
    signal: AbortSignal.any([http.signal, AbortSignal.timeout(options.timeoutMs ?? http.timeoutMs)]),
  });
  const text = await response.text();
  let body: unknown;
  try {
    body = text === '' ? {} : JSON.parse(text);
  } catch {
    body = text;
  }
  if (!response.ok) throw new MatrixHttpError(method, path, response.status, body);
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
