// Request bounds at the socket: a body nobody read never becomes the next request on a keep-alive
// connection (it is drained, or the connection closes after the answer), and a path segment that
// is not UTF-8 or longer than 255 bytes is refused before any route runs.
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { Router } from '@koa/router';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MatrixError } from '../../domain/index.ts';
import { readJsonBody, type RequestState } from './index.ts';
import { DRAIN_MAX_BYTES } from './requestBounds.ts';
import { serveTestApp, type TestApp } from '../../test/harness/index.ts';

let smuggled = 0;
const router = new Router<RequestState>();
router.post('/ignores', (ctx) => {
  ctx.body = { ignored: true };
});
router.delete('/refuses', () => {
  throw new MatrixError('M_FORBIDDEN', 403, 'No');
});
router.post('/reads', async (ctx) => {
  ctx.body = { got: await readJsonBody(ctx, { maxBytes: 1024 }) };
});
router.get('/ok', (ctx) => {
  ctx.body = { ok: true };
});
router.get('/smuggled', (ctx) => {
  smuggled++;
  ctx.body = { smuggled: true };
});
router.get('/param/:value', (ctx) => {
  ctx.body = { value: ctx.params.value };
});

let app: TestApp;
beforeAll(async () => {
  app = await serveTestApp({ routers: [router] });
});
afterAll(() => app.close());

interface Exchange {
  /** Status codes of the responses, in order. */
  readonly statuses: number[];
  readonly text: string;
  /** Whether the server closed the connection. */
  readonly closed: boolean;
}

/** Writes raw bytes on one connection and reads until the server closes it or goes quiet. */
const exchange = (parts: readonly (string | Buffer)[], quietMs = 700): Promise<Exchange> =>
  new Promise((resolve, reject) => {
    const { port } = new URL(app.url);
    const socket = connect(Number(port), '127.0.0.1');
    const chunks: Buffer[] = [];
    let timer: NodeJS.Timeout | undefined;
    const done = (closed: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      const text = Buffer.concat(chunks).toString('latin1');
      resolve({ statuses: [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((match) => Number(match[1])), text, closed });
    };
    const quiet = () => {
      clearTimeout(timer);
      timer = setTimeout(() => done(false), quietMs);
    };
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      quiet();
    });
    socket.on('end', () => done(true));
    socket.on('error', (error: NodeJS.ErrnoException) => (error.code === 'ECONNRESET' || error.code === 'EPIPE' ? done(true) : reject(error)));
    socket.on('connect', () => {
      for (const part of parts) socket.write(part);
      quiet();
    });
  });

const SMUGGLED = 'GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n';
const NEXT = 'GET /ok HTTP/1.1\r\nHost: x\r\n\r\n';
const withLength = (method: string, path: string, body: string | Buffer) =>
  `${method} ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`;
const chunked = (method: string, path: string) =>
  `${method} ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`;
const chunk = (data: string) => `${Buffer.byteLength(data).toString(16)}\r\n${data}\r\n`;
/** A body that is itself a request, repeated to the wanted size: read as a request, it would be served. */
const smuggling = (size: number) => SMUGGLED.repeat(Math.ceil(size / SMUGGLED.length)).slice(0, size - (size % SMUGGLED.length));

describe('unread request bodies', () => {
  it('drains a small body a handler ignored, and answers the next request on the same connection', async () => {
    const body = smuggling(4_000);
    const result = await exchange([withLength('POST', '/ignores', body), body, NEXT]);
    expect(result.statuses).toEqual([200, 200]);
    expect(result.text).toContain('{"ok":true}');
    expect(smuggled).toBe(0);
  });

  it('drains the body of a request refused before reading it', async () => {
    const body = smuggling(2_000);
    const result = await exchange([withLength('DELETE', '/refuses', body), body, NEXT]);
    expect(result.statuses).toEqual([403, 200]);
    expect(smuggled).toBe(0);
  });

  it('closes the connection after answering when an unread body is declared too large to drain', async () => {
    const body = smuggling(DRAIN_MAX_BYTES * 4);
    const result = await exchange([withLength('POST', '/ignores', body), body, NEXT]);
    expect(result.statuses).toEqual([200]);
    expect(result.text).toMatch(/Connection: close/i);
    expect(result.closed).toBe(true);
    expect(smuggled).toBe(0);
  });

  it('drains a small chunked body and closes on a large one', async () => {
    const small = await exchange([chunked('POST', '/ignores'), chunk(smuggling(1_000)), '0\r\n\r\n', NEXT]);
    expect(small.statuses).toEqual([200, 200]);
    const large = await exchange([chunked('POST', '/ignores'), ...Array.from({ length: 40 }, () => chunk(smuggling(8_000))), '0\r\n\r\n', NEXT]);
    expect(large.statuses).toEqual([200]);
    expect(large.closed).toBe(true);
    expect(smuggled).toBe(0);
  });

  it('lets an HTTP client read the refusal of a large body it is still sending', async () => {
    const body = Buffer.alloc(4 * 1024 * 1024, 'x');
    for (let attempt = 0; attempt < 5; attempt++) {
      const outcome = await new Promise<string>((resolve) => {
        const req = httpRequest(`${app.url}/reads`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': body.length } }, (res) => {
          let text = '';
          res.setEncoding('utf8').on('data', (chunk: string) => { text += chunk; }).on('end', () => resolve(`${res.statusCode} ${text}`));
          res.on('error', (error) => resolve(`response error ${error.message}`));
        });
        req.on('error', (error) => resolve(`request error ${error.message}`));
        req.end(body);
      });
      expect(outcome).toMatch(/^413 .*M_TOO_LARGE/);
    }
  });

  it('closes the connection after refusing a body over a route limit', async () => {
    const body = smuggling(4_000);
    const result = await exchange([withLength('POST', '/reads', body), body, NEXT]);
    expect(result.statuses).toEqual([413]);
    expect(result.closed).toBe(true);
    expect(smuggled).toBe(0);
  });
});

describe('path segments', () => {
  it('refuses a segment over 255 bytes and one that is not UTF-8, and takes 255 bytes', async () => {
    const refused = await exchange([`GET /param/${'%C3%A9'.repeat(128)} HTTP/1.1\r\nHost: x\r\n\r\n`, `GET /param/x%ED%A0%80 HTTP/1.1\r\nHost: x\r\n\r\n`]);
    expect(refused.statuses).toEqual([400, 400]);
    expect(refused.text).toContain('M_INVALID_PARAM');
    const response = await fetch(`${app.url}/param/${'%C3%A9'.repeat(127)}x`);
    expect(await response.json()).toEqual({ value: `${'é'.repeat(127)}x` });
  });
});
