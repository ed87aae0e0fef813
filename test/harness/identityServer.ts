/**
 * A small identity server in the test process (identity_service_api v2), for tests of what Strata
 * asks identity servers: it listens with TLS on 127.0.0.1 (a self-signed certificate, so Strata runs
 * with certificate checks off and 127.0.0.0/8 whitelisted) and is named `127.0.0.1:<port>`.
 * - `validated(medium, address)` stands for a user who validated an address here: the session's
 *   `sid` and `client_secret`, and an access token for this server.
 * - `/3pid/bind` (Bearer token, validated session) binds the address to the `mxid`, then tells the
 *   homeserver about the invites stored for that address (`/_matrix/federation/v1/3pid/onbind`,
 *   each invite's `signed` block signed with this server's ed25519 key).
 * - `/3pid/unbind` accepts only requests signed (X-Matrix) by the homeserver whose user is unbound,
 *   its key read from the homeserver's `/_matrix/key/v2/server`.
 * - `/hash_details`, `/lookup` (sha256 and none), `/store-invite`, `/pubkey/isvalid`,
 *   `/pubkey/ephemeral/isvalid`, `/pubkey/{keyId}`.
 * Every request is recorded.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import {
  signJson, signingKeyFromSeed, verifyXMatrixRequest, type JsonObject,
} from '../../domain/index.ts';
import { loadTlsCredentials } from '../../infra/server/index.ts';

export interface IdentityServerRequest {
  readonly method: string;
  readonly path: string;
  readonly body: JsonObject | undefined;
  readonly authorization: string | undefined;
}

export interface StoredInvite {
  readonly medium: string;
  readonly address: string;
  readonly roomId: string;
  readonly sender: string;
  readonly token: string;
}

export interface TestIdentityServer {
  /** `127.0.0.1:<port>`, the `id_server` clients name. */
  readonly name: string;
  /** An access token for this identity server (any user). */
  readonly accessToken: string;
  readonly publicKeyBase64: string;
  readonly requests: readonly IdentityServerRequest[];
  /** Who an address is bound to here. */
  bindings(): ReadonlyMap<string, string>;
  readonly invites: readonly StoredInvite[];
  /** A session at which the address was validated here: what a client binds with. */
  validated(medium: string, address: string): { sid: string; client_secret: string };
  /** Signs an object with this server's key, as it signs invites' `signed` blocks. */
  sign<T extends JsonObject>(object: T): T;
  /** Stores an invite as `/store-invite` would (e.g. one made on another homeserver). */
  addInvite(invite: StoredInvite): void;
  /** Where onbind goes for a server name (Strata's test URL). */
  homeserverUrl(serverName: string, url: string): void;
  stop(): Promise<void>;
}

const readBody = async (request: NodeJS.ReadableStream): Promise<string> => {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
};

const sha256Lookup = (address: string, medium: string, pepper: string): string =>
  createHash('sha256').update(`${address} ${medium} ${pepper}`, 'utf8').digest('base64url');

export const startIdentityServer = async (): Promise<TestIdentityServer> => {
  const sessions = new Map<string, { clientSecret: string; medium: string; address: string }>();
  const bound = new Map<string, string>();
  const invites: StoredInvite[] = [];
  const requests: IdentityServerRequest[] = [];
  const homeservers = new Map<string, string>();
  const accessToken = `is_${randomBytes(16).toString('hex')}`;
  const pepper = randomBytes(8).toString('hex');
  const certificateDir = await mkdtemp(path.join(tmpdir(), 'strata-identity-server-'));
  let name = '';
  let key = signingKeyFromSeed('pending', 'ed25519:0', randomBytes(32));
  const keyOf = (address: string, medium: string) => `${medium}\u0000${address}`;

  const homeserverKey = async (serverName: string, keyId: string): Promise<string | undefined> => {
    const url = homeservers.get(serverName);
    if (url === undefined) return undefined;
    const answer = (await (await fetch(`${url}/_matrix/key/v2/server`)).json()) as { verify_keys?: Record<string, { key: string }> };
    return answer.verify_keys?.[keyId]?.key;
  };

  /** Tells the invitee's homeserver about the invites stored for a newly bound address. */
  const onBind = async (medium: string, address: string, mxid: string): Promise<void> => {
    const pending = invites.filter((invite) => invite.medium === medium && invite.address === address);
    if (pending.length === 0) return;
    const serverName = mxid.slice(mxid.indexOf(':') + 1);
    const url = homeservers.get(serverName);
    if (url === undefined) throw new Error(`no URL for homeserver ${serverName}`);
    const body = {
      medium, address, mxid,
      invites: pending.map((invite) => ({
        medium, address, mxid, room_id: invite.roomId, sender: invite.sender,
        signed: signJson({ mxid, sender: invite.sender, token: invite.token }, key),
      })),
    };
    const response = await fetch(`${url}/_matrix/federation/v1/3pid/onbind`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
    });
    if (response.status !== 200) throw new Error(`onbind answered ${response.status}: ${await response.text()}`);
  };

  const handle = async (method: string, url: URL, body: JsonObject | undefined, authorization: string | undefined): Promise<{ status: number; body: JsonObject }> => {
    const route = `${method} ${url.pathname}`;
    const authorised = authorization === `Bearer ${accessToken}`;
    const unauthorised = { status: 401, body: { errcode: 'M_UNAUTHORIZED', error: 'Unauthorized' } };
    if (route === 'POST /_matrix/identity/v2/3pid/bind') {
      if (!authorised) return unauthorised;
      const session = sessions.get(String(body?.sid));
      if (session === undefined || session.clientSecret !== body?.client_secret) {
        return { status: 400, body: { errcode: 'M_NO_VALID_SESSION', error: 'No valid session' } };
      }
      const mxid = String(body.mxid);
      bound.set(keyOf(session.address, session.medium), mxid);
      const now = Date.now();
      await onBind(session.medium, session.address, mxid);
      return {
        status: 200,
        body: signJson({ address: session.address, medium: session.medium, mxid, not_before: now, not_after: now + 86_400_000, ts: now }, key),
      };
    }
    if (route === 'POST /_matrix/identity/v2/3pid/unbind') {
      const threepid = body?.threepid as JsonObject | undefined;
      const mxid = String(body?.mxid);
      const origin = await verifyXMatrixRequest(
        { authorization: authorization === undefined ? [] : [authorization], method, uri: url.pathname, content: body ?? {} },
        name, homeserverKey,
      );
      if (!origin.ok || origin.value !== mxid.slice(mxid.indexOf(':') + 1)) {
        return { status: 403, body: { errcode: 'M_FORBIDDEN', error: 'Not signed by the user`s homeserver' } };
      }
      const bindingKey = keyOf(String(threepid?.address), String(threepid?.medium));
      if (bound.get(bindingKey) !== mxid) return { status: 404, body: { errcode: 'M_NOT_FOUND', error: 'No such binding' } };
      bound.delete(bindingKey);
      return { status: 200, body: {} };
    }
    if (route === 'GET /_matrix/identity/v2/hash_details') {
      if (!authorised) return unauthorised;
      return { status: 200, body: { algorithms: ['none', 'sha256'], lookup_pepper: pepper } };
    }
    if (route === 'POST /_matrix/identity/v2/lookup') {
      if (!authorised) return unauthorised;
      if (body?.pepper !== pepper) return { status: 400, body: { errcode: 'M_INVALID_PEPPER', error: 'Wrong pepper', algorithm: 'sha256', lookup_pepper: pepper } };
      const mappings: JsonObject = {};
      for (const [bindingKey, mxid] of bound) {
        const [medium, address] = bindingKey.split('\u0000') as [string, string];
        const asked = body.algorithm === 'none' ? `${address} ${medium}` : sha256Lookup(address, medium, pepper);
        if ((body.addresses as string[]).includes(asked)) mappings[asked] = mxid;
      }
      return { status: 200, body: { mappings } };
    }
    if (route === 'POST /_matrix/identity/v2/store-invite') {
      if (!authorised) return unauthorised;
      const token = randomBytes(12).toString('hex');
      invites.push({ medium: String(body?.medium), address: String(body?.address), roomId: String(body?.room_id), sender: String(body?.sender), token });
      const keyValidityUrl = `https://${name}/_matrix/identity/v2/pubkey/isvalid`;
      return {
        status: 200,
        body: {
          token,
          public_keys: [{ public_key: key.publicKeyBase64, key_validity_url: keyValidityUrl }],
          display_name: String(body?.address).replace(/@.*/, '@…'),
        },
      };
    }
    if (route === 'GET /_matrix/identity/v2/pubkey/isvalid' || route === 'GET /_matrix/identity/v2/pubkey/ephemeral/isvalid') {
      return { status: 200, body: { valid: url.searchParams.get('public_key') === key.publicKeyBase64 } };
    }
    if (route === `GET /_matrix/identity/v2/pubkey/${encodeURIComponent(key.keyId)}` || route === `GET /_matrix/identity/v2/pubkey/${key.keyId}`) {
      return { status: 200, body: { public_key: key.publicKeyBase64 } };
    }
    return { status: 404, body: { errcode: 'M_UNRECOGNIZED', error: 'Unrecognized request' } };
  };

  const server: HttpsServer = createHttpsServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  name = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  key = signingKeyFromSeed(name, 'ed25519:0', randomBytes(32));
  const credentials = await loadTlsCredentials({}, { dataDir: certificateDir, serverName: name, logger: pino({ level: 'silent' }) });
  server.setSecureContext({ cert: credentials.cert, key: credentials.key });
  server.on('request', (request, response) => {
    void (async () => {
      const text = await readBody(request);
      const body = text === '' ? undefined : (JSON.parse(text) as JsonObject);
      const url = new URL(request.url ?? '/', `https://${name}`);
      const authorization = request.headers.authorization;
      requests.push({ method: request.method ?? '', path: url.pathname, body, authorization });
      let answer: { status: number; body: JsonObject };
      try {
        answer = await handle(request.method ?? '', url, body, authorization);
      } catch (error) {
        answer = { status: 500, body: { errcode: 'M_UNKNOWN', error: (error as Error).message } };
      }
      response.writeHead(answer.status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(answer.body));
    })();
  });

  return {
    name,
    accessToken,
    get publicKeyBase64() {
      return key.publicKeyBase64;
    },
    requests,
    bindings: () => bound,
    invites,
    validated(medium, address) {
      const sid = randomBytes(9).toString('hex');
      const clientSecret = randomBytes(12).toString('hex');
      sessions.set(sid, { clientSecret, medium, address });
      return { sid, client_secret: clientSecret };
    },
    sign: (object) => signJson(object, key),
    addInvite(invite) {
      invites.push(invite);
    },
    homeserverUrl(serverName, url) {
      homeservers.set(serverName, url);
    },
    stop: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(certificateDir, { recursive: true, force: true });
    },
  };
};
