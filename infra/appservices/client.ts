/**
 * The HTTP side of talking to application services (domain/ports/appservices.ts): every request
 * carries the bridge's `hs_token` as `Authorization: Bearer` (spec v1.4; the deprecated
 * `access_token` query parameter is not sent, as Synapse's default). Each request has a timeout, and
 * what a bridge answers is read only up to a bound, so a broken bridge costs bounded time and memory.
 */
import { isJsonObject, type AppserviceClient, type AppserviceRegistration, type JsonObject } from '../../domain/index.ts';
import { AppserviceRequestError } from '../../domain/ports/index.ts';

export interface AppserviceClientOptions {
  /** One request's limit unless the call gives its own (Synapse: 60 s for transactions). */
  readonly timeoutMs?: number;
  /** Lookups and queries: a user typing in a client waits for them (Synapse: 10 s for queries). */
  readonly queryTimeoutMs?: number;
  readonly fetch?: typeof fetch;
}

export interface HttpAppserviceClient extends AppserviceClient {
  /** Aborts what is in flight (shutdown). */
  close(): void;
}

/** A bridge's answer is read up to this size; past it the request fails. */
const MAX_ANSWER_BYTES = 1024 * 1024;
const DEFAULT_TIMEOUT_MS = 60_000;
const DEFAULT_QUERY_TIMEOUT_MS = 10_000;

const readBounded = async (response: Response): Promise<string> => {
  if (response.body === null) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_ANSWER_BYTES) {
      await reader.cancel().catch(() => undefined);
      throw new Error(`answer larger than ${MAX_ANSWER_BYTES} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
};

const errcodeOf = (body: string): string | undefined => {
  try {
    const parsed: unknown = JSON.parse(body);
    return isJsonObject(parsed) && typeof parsed.errcode === 'string' ? parsed.errcode : undefined;
  } catch {
    return undefined;
  }
};

const parseJson = (body: string): unknown => {
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
};

export const createAppserviceClient = (options: AppserviceClientOptions = {}): HttpAppserviceClient => {
  const doFetch = options.fetch ?? fetch;
  const closing = new AbortController();
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const queryTimeoutMs = options.queryTimeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS;

  /** One request; resolves with the body of a 2xx answer, else throws AppserviceRequestError. */
  const request = async (
    registration: AppserviceRegistration, method: string, path: string, body: JsonObject | undefined, limitMs: number,
  ): Promise<string> => {
    if (registration.url === null) {
      throw new AppserviceRequestError({ kind: 'unreachable', timedOut: false, detail: `application service ${registration.id} has no url` });
    }
    const url = `${registration.url}${path}`;
    const timeout = AbortSignal.timeout(limitMs);
    let response: Response;
    let text: string;
    try {
      response = await doFetch(url, {
        method,
        headers: {
          authorization: `Bearer ${registration.hsToken}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        redirect: 'error',
        signal: AbortSignal.any([closing.signal, timeout]),
      });
      text = await readBounded(response);
    } catch (error) {
      const timedOut = timeout.aborted;
      const detail = timedOut ? `${method} ${url}: no answer within ${limitMs} ms` : `${method} ${url}: ${(error as Error).message}`;
      throw new AppserviceRequestError({ kind: 'unreachable', timedOut, detail });
    }
    if (response.status < 200 || response.status > 299) {
      const errcode = errcodeOf(text);
      throw new AppserviceRequestError({
        kind: 'status', status: response.status, body: text.slice(0, 4096), ...(errcode === undefined ? {} : { errcode }),
        detail: `${method} ${url}: answered ${response.status}${errcode === undefined ? '' : ` ${errcode}`}`,
      });
    }
    return text;
  };

  /** True when the bridge answered 2xx; any failure is a no (the id stays unknown). */
  const exists = async (registration: AppserviceRegistration, path: string): Promise<boolean> => {
    try {
      await request(registration, 'GET', path, undefined, queryTimeoutMs);
      return true;
    } catch (error) {
      if (error instanceof AppserviceRequestError) return false;
      throw error;
    }
  };

  return {
    async sendTransaction(registration, txnId, body, callOptions) {
      await request(registration, 'PUT', `/_matrix/app/v1/transactions/${encodeURIComponent(txnId)}`, body, callOptions?.timeoutMs ?? timeoutMs);
    },
    queryUser: (registration, userId) => exists(registration, `/_matrix/app/v1/users/${encodeURIComponent(userId)}`),
    queryAlias: (registration, alias) => exists(registration, `/_matrix/app/v1/rooms/${encodeURIComponent(alias)}`),
    async ping(registration, transactionId, callOptions) {
      await request(registration, 'POST', '/_matrix/app/v1/ping', transactionId === undefined ? {} : { transaction_id: transactionId },
        callOptions?.timeoutMs ?? queryTimeoutMs);
    },
    async thirdPartyProtocol(registration, protocol) {
      try {
        const answer = parseJson(await request(registration, 'GET', `/_matrix/app/v1/thirdparty/protocol/${encodeURIComponent(protocol)}`,
          undefined, queryTimeoutMs));
        return isJsonObject(answer) ? answer : undefined;
      } catch (error) {
        if (error instanceof AppserviceRequestError) return undefined;
        throw error;
      }
    },
    async thirdPartyLookup(registration, kind, protocol, query) {
      const search = new URLSearchParams(Object.entries(query)).toString();
      const path = `/_matrix/app/v1/thirdparty/${kind}${protocol === undefined ? '' : `/${encodeURIComponent(protocol)}`}${search === '' ? '' : `?${search}`}`;
      try {
        const answer = parseJson(await request(registration, 'GET', path, undefined, queryTimeoutMs));
        return Array.isArray(answer) ? answer.filter(isJsonObject) : [];
      } catch (error) {
        if (error instanceof AppserviceRequestError) return [];
        throw error;
      }
    },
    close: () => closing.abort(),
  };
};
