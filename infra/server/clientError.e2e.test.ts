// Requests Node's parser refuses before any handler runs answer a Matrix error body and close the
// connection; nothing is written on a connection that has a response in flight.
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHttpServer, type RunningHttpServer } from './index.ts';

let http: RunningHttpServer;
beforeAll(async () => {
  http = await startHttpServer((req, res) => {
    const answer = () => {
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ path: req.url }));
    };
    if (req.url === '/slow') setTimeout(answer, 300);
    else answer();
  }, { host: '127.0.0.1', port: 0 });
});
afterAll(() => http.close(1_000));

interface Exchange {
  readonly text: string;
  /** Whether the server closed the connection (rather than going quiet). */
  readonly closed: boolean;
}

/**
 * Writes raw bytes on one connection (a number waits that many milliseconds first) and reads
 * until the server closes it or goes quiet.
 */
const exchange = (parts: readonly (string | number)[], quietMs = 1_000): Promise<Exchange> =>
  new Promise((resolve, reject) => {
    const socket = connect(http.address.port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let timer: NodeJS.Timeout | undefined;
    const done = (closed: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ text: Buffer.concat(chunks).toString('latin1'), closed });
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
    const writeParts = async () => {
      for (const part of parts) {
        if (typeof part === 'number') await new Promise((wait) => setTimeout(wait, part));
        else if (!socket.destroyed) socket.write(part);
      }
      quiet();
    };
    socket.on('connect', () => void writeParts());
  });

/** The status and parsed JSON body of the one response in a raw exchange. */
const onlyResponse = (text: string): { status: number; headers: string; body: unknown } => {
  expect(text.match(/^HTTP\/1\.1 /gm)).toHaveLength(1);
  const [head, body] = text.split('\r\n\r\n', 2) as [string, string];
  const length = Number(/\r\ncontent-length: (\d+)/i.exec(head)?.[1]);
  expect(Buffer.byteLength(body, 'latin1')).toBe(length);
  return { status: Number(head.slice(9, 12)), headers: head, body: JSON.parse(body) };
};

const stillAnswers = async () => {
  const response = await fetch(`http://127.0.0.1:${http.address.port}/after`);
  expect(response.status).toBe(200);
  expect(await response.json()).toEqual({ path: '/after' });
};

describe('requests the HTTP parser refuses', () => {
  it('answer an over-long URL with 431 M_TOO_LARGE and close the connection', async () => {
    const started = Date.now();
    const { text, closed } = await exchange([`GET /${'a'.repeat(20 * 1024)} HTTP/1.1\r\nHost: x\r\n\r\n`]);
    const response = onlyResponse(text);
    expect(response.status).toBe(431);
    expect(response.body).toMatchObject({ errcode: 'M_TOO_LARGE' });
    expect(response.headers).toMatch(/\r\nconnection: close/i);
    expect(response.headers).toMatch(/\r\ncontent-type: application\/json/i);
    expect(response.headers).toMatch(/\r\naccess-control-allow-origin: \*/i);
    expect(closed).toBe(true);
    expect(Date.now() - started).toBeLessThan(1_000);
    await stillAnswers();
  });

  it('answer over-long headers with 431 M_TOO_LARGE', async () => {
    const { text, closed } = await exchange([`GET /ok HTTP/1.1\r\nHost: x\r\nX-Filler: ${'b'.repeat(20 * 1024)}\r\n\r\n`]);
    const response = onlyResponse(text);
    expect(response.status).toBe(431);
    expect(response.body).toMatchObject({ errcode: 'M_TOO_LARGE' });
    expect(closed).toBe(true);
    await stillAnswers();
  });

  it('answer a malformed request with 400 and a Matrix error', async () => {
    const { text, closed } = await exchange(['NOT A REQUEST\r\n\r\n']);
    const response = onlyResponse(text);
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ errcode: 'M_UNKNOWN' });
    expect(closed).toBe(true);
    await stillAnswers();
  });

  it('answer a malformed request after a completed one on the same connection', async () => {
    // The garbage follows once the first response is out: the connection is idle, so it is answered.
    const { text, closed } = await exchange(['GET /first HTTP/1.1\r\nHost: x\r\n\r\n', 200, 'GET /bad\x01 HTTP/1.1\r\n\r\n']);
    const statuses = [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((match) => Number(match[1]));
    expect(statuses).toEqual([200, 400]);
    expect(text).toContain('"errcode":"M_UNKNOWN"');
    expect(closed).toBe(true);
  });

  it('write nothing on a connection whose response is still in flight', async () => {
    // The garbage is parsed while /slow's handler still holds its response: an answer written
    // then would come before (or inside) /slow's response, so the connection is cut instead.
    const { text, closed } = await exchange(['GET /slow HTTP/1.1\r\nHost: x\r\n\r\n', 'NOT A REQUEST\r\n\r\n']);
    expect(text).not.toContain('M_UNKNOWN');
    expect(text).not.toMatch(/HTTP\/1\.1 400/);
    expect(closed).toBe(true);
    await stillAnswers();
  });
});
