/** The Matrix login and the analyst API, as the dashboard calls them (same origin, bearer token). */
export const ANALYTICS_API = '/_strata/analytics/v1';
export const COUNTERS_SOCKET = '/_strata/ws/v1/analytics';

export class ApiError extends Error {
  readonly status: number;
  readonly errcode: string;
  constructor(status: number, errcode: string, message: string) {
    super(message);
    this.status = status;
    this.errcode = errcode;
  }
}

type Json = Record<string, unknown>;

const call = async (method: string, path: string, token?: string, body?: Json): Promise<Json> => {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (token !== undefined) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(path, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const answer = await response.json().catch(() => ({})) as Json;
  if (!response.ok) {
    throw new ApiError(response.status, typeof answer.errcode === 'string' ? answer.errcode : 'M_UNKNOWN',
      typeof answer.error === 'string' ? answer.error : `HTTP ${response.status}`);
  }
  return answer;
};

/** m.login.password; a user id or a bare localpart. */
export const login = async (user: string, password: string): Promise<{ accessToken: string; userId: string }> => {
  const answer = await call('POST', '/_matrix/client/v3/login', undefined, {
    type: 'm.login.password', identifier: { type: 'm.id.user', user }, password,
    initial_device_display_name: 'Strata analytics dashboard',
  });
  return { accessToken: String(answer.access_token), userId: String(answer.user_id) };
};

export const logout = async (token: string): Promise<void> => {
  await call('POST', '/_matrix/client/v3/logout', token, {});
};

export type Query = Readonly<Record<string, string | number | undefined>>;

export const analytics = async (token: string, path: string, query: Query = {}): Promise<Json> => {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined) params.set(key, String(value));
  const suffix = params.size === 0 ? '' : `?${params.toString()}`;
  return call('GET', `${ANALYTICS_API}${path}${suffix}`, token);
};
