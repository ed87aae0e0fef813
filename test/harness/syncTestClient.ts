/**
 * The /sync e2e tests' request style over the harness's MatrixClient: full paths (`${V3}/…`), the
 * access token as an argument, sessions with `token`.
 */
import type { Body, MatrixClient, Reply } from './index.ts';

export const V3 = '/_matrix/client/v3';

export interface SyncSession {
  readonly token: string;
  readonly userId: string;
  readonly deviceId: string;
}

export interface SyncTestClient {
  call(method: string, path: string, token?: string, body?: unknown): Promise<Reply>;
  /** The 200 body; any other status throws with the server's answer. */
  ok(method: string, path: string, token?: string, body?: unknown): Promise<Body>;
  register(username: string): Promise<SyncSession>;
}

export const syncTestClient = (client: MatrixClient): SyncTestClient => {
  const options = (token: string | undefined, body: unknown) => ({
    ...(token === undefined ? {} : { token }), ...(body === undefined ? {} : { json: body }),
  });
  const session = (s: { accessToken: string; userId: string; deviceId: string }): SyncSession => ({ token: s.accessToken, userId: s.userId, deviceId: s.deviceId });
  return {
    call: (method, path, token, body) => client.request(method, path, options(token, body)),
    ok: (method, path, token, body) => client.ok(method, path, options(token, body)),
    register: async (username) => session(await client.register(username)),
  };
};
