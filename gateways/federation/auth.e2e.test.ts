/**
 * The X-Matrix middleware over HTTP (server-server-api.md § Request Authentication): several
 * Authorization headers, bodies on any method, body bounds, the federation whitelist, and the
 * answers Synapse gives for each refusal.
 */
import { request } from 'node:http';
import { Router } from '@koa/router';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signXMatrixRequest, signingKeyFromSeed, type JsonValue } from '../../domain/index.ts';
import { serveTestApp, type TestApp } from '../../test/harness/index.ts';
import type { RequestState } from '../http/index.ts';
import { federationAuth, originOf } from './index.ts';

const US = 'us.example';
const key1 = signingKeyFromSeed('them.example', 'ed25519:one', new Uint8Array(32).fill(1));
const key2 = signingKeyFromSeed('them.example', 'ed25519:two', new Uint8Array(32).fill(2));
const published = [key1, key2];
const lookupKey = async (serverName: string, keyId: string) =>
  published.find((key) => key.serverName === serverName && key.keyId === keyId)?.publicKeyBase64;

let app: TestApp;
beforeAll(async () => {
  const router = new Router<RequestState>();
  const auth = federationAuth({ serverName: US, lookupKey, maxBodyBytes: 1024 });
  router.all('/_matrix/federation/v1/probe', auth, (ctx) => {
    ctx.body = { origin: originOf(ctx) };
  });
  router.get('/_matrix/federation/v1/only-friends', federationAuth({ serverName: US, lookupKey, originAllowed: (origin) => origin === 'friend.example' }), (ctx) => {
    ctx.body = { origin: originOf(ctx) };
  });
  router.get('/_matrix/federation/v1/unguarded', (ctx) => {
    ctx.body = { origin: originOf(ctx) };
  });
  app = await serveTestApp({ routers: [router] });
});
afterAll(() => app.close());

const send = (method: string, path: string, authorization: string[], body?: string): Promise<{ status: number; body: Record<string, JsonValue> }> =>
  new Promise((resolve, reject) => {
    const headers: Record<string, string | string[]> = { Authorization: authorization };
    if (body !== undefined) Object.assign(headers, { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(body)) });
    const req = request(`${app.url}${path}`, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk)).on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) }));
    });
    req.on('error', reject);
    req.end(body);
  });

const sign = (key: typeof key1, method: string, uri: string, content?: JsonValue, destination = US) =>
  signXMatrixRequest({ method, uri, destination, ...(content === undefined ? {} : { content }) }, key);

describe('federationAuth', () => {
  const path = '/_matrix/federation/v1/probe';

  it('accepts several Authorization headers when every known key verifies', async () => {
    expect(await send('PUT', path, [sign(key1, 'PUT', path, { a: 1 }), sign(key2, 'PUT', path, { a: 1 })], '{"a":1}')).toEqual({ status: 200, body: { origin: 'them.example' } });
    // One good and one bad signature: refused, as Synapse does.
    expect(await send('PUT', path, [sign(key1, 'PUT', path, { a: 1 }), sign(key2, 'PUT', path, { a: 2 })], '{"a":1}')).toMatchObject({ status: 401, body: { errcode: 'M_UNAUTHORIZED' } });
  });

  it('signs the body of any method that sends one', async () => {
    expect(await send('GET', path, [sign(key1, 'GET', path, { q: true })], '{"q":true}')).toMatchObject({ status: 200 });
    expect(await send('GET', path, [sign(key1, 'GET', path)], '{"q":true}')).toMatchObject({ status: 401 });
    expect(await send('DELETE', path, [sign(key1, 'DELETE', path)])).toMatchObject({ status: 200 });
  });

  it('reads the body through the shared parser: bounded, JSON, an object for PUT and POST', async () => {
    const big = JSON.stringify({ pad: 'x'.repeat(2048) });
    expect(await send('POST', path, [sign(key1, 'POST', path, { pad: 'x'.repeat(2048) })], big)).toMatchObject({ status: 413, body: { errcode: 'M_TOO_LARGE' } });
    expect(await send('POST', path, [sign(key1, 'POST', path, {})])).toMatchObject({ status: 400, body: { errcode: 'M_NOT_JSON' } });
    expect(await send('POST', path, [sign(key1, 'POST', path, [1])], '[1]')).toMatchObject({ status: 400, body: { errcode: 'M_BAD_JSON' } });
  });

  it('answers as Synapse does: 401 missing or wrong destination, 400 malformed, 403 outside the whitelist', async () => {
    expect(await send('GET', path, [])).toMatchObject({ status: 401, body: { errcode: 'M_UNAUTHORIZED' } });
    // Headers are judged before the body is read: no header, no 413 for a body past the bound.
    expect(await send('POST', path, [], JSON.stringify({ pad: 'x'.repeat(4096) }))).toMatchObject({ status: 401, body: { errcode: 'M_UNAUTHORIZED' } });
    expect(await send('GET', path, [sign(key1, 'GET', path, undefined, 'other.example')])).toMatchObject({ status: 401, body: { errcode: 'M_UNAUTHORIZED', error: 'Destination mismatch in auth header' } });
    expect(await send('GET', path, ['X-Matrix origin=them.example,key=ed25519:one'])).toMatchObject({ status: 400, body: { errcode: 'M_UNAUTHORIZED' } });
    const friendsOnly = '/_matrix/federation/v1/only-friends';
    expect(await send('GET', friendsOnly, [sign(key1, 'GET', friendsOnly)])).toMatchObject({ status: 403, body: { errcode: 'M_FORBIDDEN' } });
  });

  it('originOf refuses a route the middleware does not guard', async () => {
    expect(await send('GET', '/_matrix/federation/v1/unguarded', [sign(key1, 'GET', '/_matrix/federation/v1/unguarded')])).toMatchObject({ status: 401 });
  });
});
