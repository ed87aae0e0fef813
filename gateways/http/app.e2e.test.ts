import { Router } from '@koa/router';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MatrixError } from '../../domain/index.ts';
import { CORS_HEADERS, type RequestState } from './index.ts';
import { serveTestApp, type TestApp } from '../../test/harness/index.ts';

const observed: { method: string; route: string; status: number }[] = [];
let handlerRuns = 0;

const router = new Router<RequestState>();
router.get('/rooms/:roomId/state', (ctx) => {
  handlerRuns++;
  ctx.state.log.info({ room: ctx.params.roomId }, 'reading state');
  ctx.body = { room_id: ctx.params.roomId };
});
router.get('/forbidden', () => {
  throw new MatrixError('M_FORBIDDEN', 403, 'You are not invited to this room.');
});
router.get('/limited', () => {
  throw new MatrixError('M_LIMIT_EXCEEDED', 429, 'Too many requests', { retry_after_ms: 2000 });
});
router.get('/boom', () => {
  throw new Error('database password is hunter2');
});

let app: TestApp;
beforeAll(async () => {
  app = await serveTestApp({
    routers: [router],
    metrics: { observeHttpRequest: (method, route, status) => observed.push({ method, route, status }) },
  });
});
afterAll(() => app.close());

describe('createHttpApp errors', () => {
  it('renders a MatrixError as {errcode, error} with its status', async () => {
    const response = await fetch(`${app.url}/forbidden`);
    expect(response.status).toBe(403);
    expect(response.headers.get('content-type')).toContain('application/json');
    expect(await response.json()).toEqual({ errcode: 'M_FORBIDDEN', error: 'You are not invited to this room.' });
  });

  it('adds a MatrixError\'s extra fields', async () => {
    const response = await fetch(`${app.url}/limited`);
    expect(response.status).toBe(429);
    expect(await response.json()).toEqual({ errcode: 'M_LIMIT_EXCEEDED', error: 'Too many requests', retry_after_ms: 2000 });
  });

  it('answers any other error with a bare 500 M_UNKNOWN and logs it with its stack', async () => {
    const response = await fetch(`${app.url}/boom`, { headers: { 'X-Request-Id': 'boom-1' } });
    expect(response.status).toBe(500);
    const body = await response.text();
    expect(JSON.parse(body)).toEqual({ errcode: 'M_UNKNOWN', error: 'Internal server error' });
    expect(body).not.toContain('hunter2');
    const logged = app.logs.find((line) => line.request_id === 'boom-1' && line.msg === 'unhandled error');
    expect((logged?.err as { stack?: string } | undefined)?.stack).toContain('database password is hunter2');
  });

  it('answers an unknown endpoint with 404 M_UNRECOGNIZED', async () => {
    const response = await fetch(`${app.url}/_matrix/client/v3/nothing-here`);
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ errcode: 'M_UNRECOGNIZED', error: 'Unrecognized request' });
  });

  it('answers a known path with the wrong method with 405 M_UNRECOGNIZED', async () => {
    const response = await fetch(`${app.url}/rooms/!a:example.org/state`, { method: 'DELETE' });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toContain('GET');
    expect(await response.json()).toEqual({ errcode: 'M_UNRECOGNIZED', error: 'Unrecognized request' });
  });
});

describe('createHttpApp request ids and logs', () => {
  it('uses the incoming X-Request-Id in the response and in every log line of the request', async () => {
    const response = await fetch(`${app.url}/rooms/r1/state`, { headers: { 'X-Request-Id': 'abc-123' } });
    expect(response.headers.get('x-request-id')).toBe('abc-123');
    const lines = app.logs.filter((line) => line.request_id === 'abc-123');
    expect(lines.map((line) => line.msg)).toEqual(['reading state', 'request']);
    expect(lines[1]).toMatchObject({ method: 'GET', path: '/rooms/r1/state', route: '/rooms/:roomId/state', status: 200 });
  });

  it('writes the same access line whether or not the request logged anything else', async () => {
    await fetch(`${app.url}/rooms/r1/state`, { headers: { 'X-Request-Id': 'logs-1' } });
    await fetch(`${app.url}/rooms/r1/state`, { method: 'OPTIONS', headers: { 'X-Request-Id': 'quiet-1' } });
    const accessLine = (id: string) => app.logs.find((line) => line.request_id === id && line.msg === 'request');
    const keys = ['level', 'time', 'pid', 'hostname', 'request_id', 'method', 'path', 'route', 'status', 'duration_ms', 'msg'];
    expect(Object.keys(accessLine('logs-1') ?? {})).toEqual(keys);
    expect(Object.keys(accessLine('quiet-1') ?? {})).toEqual(keys);
    expect(accessLine('quiet-1')).toMatchObject({ method: 'OPTIONS', route: '(preflight)', status: 204 });
  });

  it('generates a request id when none (or an unsafe one) is sent', async () => {
    const plain = await fetch(`${app.url}/rooms/r2/state`);
    const unsafe = await fetch(`${app.url}/rooms/r3/state`, { headers: { 'X-Request-Id': 'a b"c' } });
    const [a, b] = [plain.headers.get('x-request-id'), unsafe.headers.get('x-request-id')];
    expect(a).toMatch(/^[0-9a-f-]{36}$/);
    expect(b).toMatch(/^[0-9a-f-]{36}$/);
    expect(a).not.toBe(b);
  });

  it('labels metrics with the route template, not the raw path', async () => {
    await fetch(`${app.url}/rooms/!xyz:example.org/state`);
    await fetch(`${app.url}/unknown/path/123`);
    expect(observed).toContainEqual({ method: 'GET', route: '/rooms/:roomId/state', status: 200 });
    expect(observed).toContainEqual({ method: 'GET', route: '(unmatched)', status: 404 });
    expect(observed.some((o) => o.route.includes('xyz') || o.route.includes('123'))).toBe(false);
  });
});

describe('createHttpApp CORS', () => {
  const expectCors = (headers: Headers) => {
    for (const [name, value] of Object.entries(CORS_HEADERS)) expect(headers.get(name)).toBe(value);
  };

  it('answers OPTIONS on any path with 204 and the CORS headers, without running the endpoint', async () => {
    const before = handlerRuns;
    for (const path of ['/rooms/r1/state', '/_matrix/client/v3/whatever/it/is']) {
      const response = await fetch(`${app.url}${path}`, {
        method: 'OPTIONS',
        headers: { Origin: 'https://app.example', 'Access-Control-Request-Method': 'PUT', 'Access-Control-Request-Headers': 'authorization' },
      });
      expect(response.status).toBe(204);
      expectCors(response.headers);
      expect(await response.text()).toBe('');
    }
    expect(handlerRuns).toBe(before);
  });

  it('puts the CORS headers on successes and errors alike', async () => {
    expectCors((await fetch(`${app.url}/rooms/r1/state`)).headers);
    expectCors((await fetch(`${app.url}/forbidden`)).headers);
    expectCors((await fetch(`${app.url}/boom`)).headers);
    expectCors((await fetch(`${app.url}/nope`)).headers);
  });
});

describe('createHttpApp with several routers', () => {
  const first = new Router<RequestState>();
  const second = new Router<RequestState>();
  const seenBySecond: string[] = [];
  first.get('/first/:id', (ctx) => { ctx.body = { router: 'first', id: ctx.params.id }; });
  first.get('/shared', (ctx) => { ctx.body = { router: 'first' }; });
  second.use((ctx, next) => { seenBySecond.push(ctx.path); return next(); });
  second.post('/shared', (ctx) => { ctx.body = { router: 'second' }; });
  second.get('/second', (ctx) => { ctx.body = { router: 'second' }; });
  let server: TestApp;
  beforeAll(async () => { server = await serveTestApp({ routers: [first, second] }); });
  afterAll(() => server.close());

  const json = async (method: string, path: string) => {
    const response = await fetch(`${server.url}${path}`, { method });
    return { status: response.status, allow: response.headers.get('allow'), body: await response.json() as unknown };
  };

  it('answers from whichever router has the route, in mounting order', async () => {
    expect(await json('GET', '/first/x%20y')).toMatchObject({ status: 200, body: { router: 'first', id: 'x y' } });
    expect(await json('GET', '/second')).toMatchObject({ status: 200, body: { router: 'second' } });
    expect(await json('GET', '/shared')).toMatchObject({ status: 200, body: { router: 'first' } });
    expect(await json('POST', '/shared')).toMatchObject({ status: 200, body: { router: 'second' } });
    // A router's own middleware runs only for requests that reach one of its routes.
    expect(seenBySecond).toEqual(['/second', '/shared']);
  });

  it('lists the methods of every router in a 405', async () => {
    expect(await json('DELETE', '/shared')).toEqual({
      status: 405, allow: 'HEAD, GET, POST, OPTIONS', body: { errcode: 'M_UNRECOGNIZED', error: 'Unrecognized request' },
    });
    expect(await json('GET', '/FIRST/1')).toMatchObject({ status: 200, body: { router: 'first' } });
  });

  it('reaches a route added after the app started serving', async () => {
    expect((await json('GET', '/late')).status).toBe(404);
    first.get('/late', (ctx) => { ctx.body = { router: 'first', late: true }; });
    expect(await json('GET', '/late')).toMatchObject({ status: 200, body: { late: true } });
  });
});
