import { Router } from '@koa/router';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MatrixError } from '../../domain/index.ts';
import { CORS_HEADERS, type RequestState } from './index.ts';
import { serveTestApp, type TestServer } from './testing.ts';

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

let app: TestServer;
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
