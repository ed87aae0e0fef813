import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRegistration } from '../../domain/index.ts';
import { AppserviceRequestError } from '../../domain/ports/index.ts';
import { createAppserviceClient } from './client.ts';

interface Seen { method: string; url: string; authorization: string | undefined; body: string }

const seen: Seen[] = [];
let answer: (request: IncomingMessage) => { status: number; body: string; delayMs?: number } = () => ({ status: 200, body: '{}' });
let server: Server;
let url: string;

const read = (request: IncomingMessage): Promise<string> => new Promise((resolve) => {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
});

beforeAll(async () => {
  server = createServer((request, response) => {
    void read(request).then((body) => {
      seen.push({ method: request.method!, url: request.url!, authorization: request.headers.authorization, body });
      const { status, body: text, delayMs } = answer(request);
      setTimeout(() => {
        response.writeHead(status, { 'content-type': 'application/json' });
        response.end(text);
      }, delayMs ?? 0);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const bridge = () => parseRegistration({
  id: 'bridge', url: `${url}/`, as_token: 'as', hs_token: 'hs-secret', sender_localpart: 'bridgebot', namespaces: {},
}, 'example.org', 'bridge.yaml');

const failureOf = async (promise: Promise<unknown>) => {
  const error = await promise.then(() => undefined, (caught: unknown) => caught);
  expect(error).toBeInstanceOf(AppserviceRequestError);
  return (error as AppserviceRequestError).failure;
};

describe('the application service HTTP client', () => {
  it('sends transactions with the hs_token as a bearer token, never in the query', async () => {
    seen.length = 0;
    answer = () => ({ status: 200, body: '{}' });
    await createAppserviceClient().sendTransaction(bridge(), 'txn/1', { events: [] });
    expect(seen).toEqual([{ method: 'PUT', url: '/_matrix/app/v1/transactions/txn%2F1', authorization: 'Bearer hs-secret', body: '{"events":[]}' }]);
  });

  it('tells a bridge that answers an error status from one that does not answer', async () => {
    answer = () => ({ status: 403, body: '{"errcode":"M_FORBIDDEN"}' });
    expect(await failureOf(createAppserviceClient().sendTransaction(bridge(), '2', { events: [] })))
      .toMatchObject({ kind: 'status', status: 403, errcode: 'M_FORBIDDEN', body: '{"errcode":"M_FORBIDDEN"}' });
    answer = () => ({ status: 200, body: '{}', delayMs: 500 });
    expect(await failureOf(createAppserviceClient({ timeoutMs: 50 }).sendTransaction(bridge(), '3', { events: [] })))
      .toMatchObject({ kind: 'unreachable', timedOut: true });
    const nowhere = parseRegistration({ id: 'x', url: 'http://127.0.0.1:1', as_token: 'a', hs_token: 'h', sender_localpart: 'x' }, 'example.org', 'x.yaml');
    expect(await failureOf(createAppserviceClient().ping(nowhere, undefined))).toMatchObject({ kind: 'unreachable', timedOut: false });
  });

  it('refuses an answer past its bound', async () => {
    answer = () => ({ status: 200, body: `"${'x'.repeat(1024 * 1024 + 10)}"` });
    expect(await failureOf(createAppserviceClient().sendTransaction(bridge(), '4', { events: [] }))).toMatchObject({ kind: 'unreachable' });
  });

  it('asks about users and aliases, a 2xx meaning the bridge made them', async () => {
    seen.length = 0;
    answer = (request) => ({ status: request.url!.includes('users') ? 200 : 404, body: '{}' });
    const client = createAppserviceClient();
    expect(await client.queryUser(bridge(), '@bridge_a:example.org')).toBe(true);
    expect(await client.queryAlias(bridge(), '#bridge_a:example.org')).toBe(false);
    expect(seen.map((s) => s.url)).toEqual(['/_matrix/app/v1/users/%40bridge_a%3Aexample.org', '/_matrix/app/v1/rooms/%23bridge_a%3Aexample.org']);
  });

  it('pings with the transaction id and looks up third-party ids', async () => {
    seen.length = 0;
    answer = (request) => ({ status: 200, body: request.url!.startsWith('/_matrix/app/v1/thirdparty/protocol') ? '{"user_fields":[]}' : '[{"userid":"@a:b"}, 3]' });
    const client = createAppserviceClient();
    await client.ping(bridge(), 'ping-1');
    expect(await client.thirdPartyProtocol(bridge(), 'irc')).toEqual({ user_fields: [] });
    expect(await client.thirdPartyLookup(bridge(), 'user', 'irc', { nick: 'bob' })).toEqual([{ userid: '@a:b' }]);
    expect(await client.thirdPartyLookup(bridge(), 'location', undefined, { alias: '#a:b' })).toEqual([{ userid: '@a:b' }]);
    expect(seen.map((s) => `${s.method} ${s.url} ${s.body}`)).toEqual([
      'POST /_matrix/app/v1/ping {"transaction_id":"ping-1"}',
      'GET /_matrix/app/v1/thirdparty/protocol/irc ',
      'GET /_matrix/app/v1/thirdparty/user/irc?nick=bob ',
      'GET /_matrix/app/v1/thirdparty/location?alias=%23a%3Ab ',
    ]);
  });
});
