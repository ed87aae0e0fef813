import { request } from 'node:http';
import { connect } from 'node:net';
import { Router } from '@koa/router';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isMatrixError } from '../../domain/index.ts';
import { readJsonBody, type RequestState } from './index.ts';
import { serveTestApp, type TestApp } from '../../test/harness/index.ts';

const MAX = 1024;
let abortOutcome: (outcome: string) => void = () => undefined;

const router = new Router<RequestState>();
router.post('/object', async (ctx) => {
  ctx.body = { got: await readJsonBody(ctx, { maxBytes: MAX }) };
});
router.post('/any', async (ctx) => {
  ctx.body = { got: await readJsonBody(ctx, { maxBytes: MAX, anyValue: true }) };
});
router.post('/optional', async (ctx) => {
  ctx.body = { got: await readJsonBody(ctx, { maxBytes: MAX, allowEmpty: true }) };
});
router.post('/twice', async (ctx) => {
  const first = await readJsonBody(ctx, { maxBytes: MAX });
  ctx.body = { same: first === (await readJsonBody(ctx, { maxBytes: MAX })) };
});
router.post('/slow', async (ctx) => {
  ctx.body = { got: await readJsonBody(ctx, { maxBytes: MAX, idleTimeoutMs: 200 }) };
});
router.post('/watched', async (ctx) => {
  try {
    ctx.body = { got: await readJsonBody(ctx, { maxBytes: MAX }) };
    abortOutcome('resolved');
  } catch (error) {
    abortOutcome(isMatrixError(error) ? error.message : 'other error');
    throw error;
  }
});

let app: TestApp;
beforeAll(async () => {
  app = await serveTestApp({ routers: [router] });
});
afterAll(() => app.close());

const post = (path: string, body: string | Uint8Array) => fetch(`${app.url}${path}`, { method: 'POST', body });

/** Sends a body in chunks without Content-Length, so only counting can catch an oversize body. */
const postChunked = (path: string, chunks: string[]): Promise<{ status: number; body: string }> =>
  new Promise((resolve, reject) => {
    const req = request(`${app.url}${path}`, { method: 'POST', headers: { 'Transfer-Encoding': 'chunked' } }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => { body += chunk; }).on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    for (const chunk of chunks) req.write(chunk);
    req.end();
  });

describe('readJsonBody', () => {
  it('returns a JSON object', async () => {
    const response = await post('/object', JSON.stringify({ msgtype: 'm.text', body: 'héllo' }));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ got: { msgtype: 'm.text', body: 'héllo' } });
  });

  it.each([
    ['malformed JSON', '{"a": ', 'M_NOT_JSON'],
    ['an empty body', '', 'M_NOT_JSON'],
    ['an array where an object is required', '[1, 2]', 'M_BAD_JSON'],
    ['a string where an object is required', '"text"', 'M_BAD_JSON'],
  ])('answers 400 for %s', async (_what, body, errcode) => {
    const response = await post('/object', body);
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ errcode });
  });

  it.each([
    ['nesting past 128 levels', `${'['.repeat(129)}${']'.repeat(129)}`],
    ['a lone surrogate in a value', '{"a":["\\ud800"]}'],
    ['a lone surrogate in a member name', '{"\\udfff":1}'],
    ['a number JSON cannot write back', '{"a":1e400}'],
    ['a member name over 255 bytes', `{"${'é'.repeat(128)}":1}`],
  ])('answers 400 M_BAD_JSON for %s, whatever value the route takes', async (_what, body) => {
    const response = await post('/any', body);
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ errcode: 'M_BAD_JSON' });
  });

  it('takes nesting of 128 levels, surrogate pairs, floats and large integers', async () => {
    const body = `{"a":${'['.repeat(127)}${']'.repeat(127)},"b":"\\ud83d\\ude00","c":1.5,"d":9007199254740993}`;
    expect((await post('/any', body)).status).toBe(200);
  });

  it('answers 400 M_NOT_JSON for bytes that are not UTF-8', async () => {
    const response = await post('/object', new Uint8Array([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]));
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ errcode: 'M_NOT_JSON' });
  });

  it('accepts any JSON value when asked, and an empty body as {} when allowed', async () => {
    expect(await (await post('/any', '[1,"two"]')).json()).toEqual({ got: [1, 'two'] });
    expect(await (await post('/optional', '')).json()).toEqual({ got: {} });
  });

  it('reads the body once and returns the same value to a second call', async () => {
    expect(await (await post('/twice', '{"a":1}')).json()).toEqual({ same: true });
  });

  it('answers 413 M_TOO_LARGE from a declared Content-Length over the limit', async () => {
    const response = await post('/object', JSON.stringify({ pad: 'x'.repeat(MAX) }));
    expect(response.status).toBe(413);
    expect(await response.json()).toMatchObject({ errcode: 'M_TOO_LARGE' });
  });

  it('answers 413 M_TOO_LARGE for a chunked body that grows over the limit', async () => {
    const { status, body } = await postChunked('/object', ['{"pad":"', 'x'.repeat(600), 'x'.repeat(600), '"}']);
    expect(status).toBe(413);
    expect(JSON.parse(body)).toMatchObject({ errcode: 'M_TOO_LARGE' });
  });

  it('does not wait forever for a body that stalls', async () => {
    const socket = connect(Number(new URL(app.url).port), '127.0.0.1');
    let reply = '';
    socket.setEncoding('utf8').on('data', (chunk: string) => { reply += chunk; });
    socket.write('POST /slow HTTP/1.1\r\nHost: test\r\nContent-Length: 100\r\n\r\n{"a":');
    const started = Date.now();
    await new Promise((resolve) => socket.on('close', resolve).on('end', resolve));
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(reply).toMatch(/^HTTP\/1.1 408/);
    expect(reply).toContain('"errcode":"M_UNKNOWN"');
    socket.destroy();
  });

  it('gives up at once when the client aborts mid-body', async () => {
    const outcome = new Promise<string>((resolve) => { abortOutcome = resolve; });
    const socket = connect(Number(new URL(app.url).port), '127.0.0.1');
    socket.write('POST /watched HTTP/1.1\r\nHost: test\r\nContent-Length: 100\r\n\r\n{"a":');
    await new Promise((resolve) => setTimeout(resolve, 50));
    socket.destroy();
    const result = await Promise.race([outcome, new Promise((resolve) => setTimeout(() => resolve('still waiting'), 2_000))]);
    expect(result).toBe('Client aborted the request body');
  });
});
