// The URL preview fetcher against an HTTP server on loopback: the IP policy on every hop and on
// every resolved address, redirects, size and time limits, content types.
import { createServer, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSelfSignedCertificate } from '../../server/selfSignedCertificate.ts';
import { createUrlPreviewFetcher, fileNameOfContentDisposition } from './fetcher.ts';

describe('createUrlPreviewFetcher', () => {
  let server: Server;
  let base: string;
  let port: number;

  beforeAll(async () => {
    server = createServer((req, res: ServerResponse) => {
      const path = req.url ?? '/';
      if (path === '/page') {
        res.writeHead(200, { 'Content-Type': 'text/html; charset=iso-8859-1', 'Content-Disposition': 'inline; filename="page.html"' });
        res.end('<title>ok</title>');
      } else if (path.startsWith('/hop/')) {
        const left = Number(path.slice('/hop/'.length));
        res.writeHead(302, { Location: left === 0 ? '/page' : `/hop/${left - 1}` });
        res.end();
      } else if (path === '/loop') {
        res.writeHead(301, { Location: '/loop' });
        res.end();
      } else if (path === '/to-other-loopback') {
        res.writeHead(302, { Location: `http://127.0.0.2:${port}/page` });
        res.end();
      } else if (path === '/declared-large') {
        res.writeHead(200, { 'Content-Type': 'text/html', 'Content-Length': '5000' });
        res.end('x'.repeat(5000));
      } else if (path === '/streamed-large') {
        res.writeHead(200, { 'Content-Type': 'text/html' });
        for (let i = 0; i < 10; i++) res.write('y'.repeat(500));
        res.end();
      } else if (path === '/slow') {
        res.writeHead(200, { 'Content-Type': 'text/html' });
        res.write('<title>');
        setTimeout(() => res.end('late</title>'), 2_000);
      } else if (path === '/zip') {
        res.writeHead(200, { 'Content-Type': 'application/zip' });
        res.end('PK');
      } else {
        res.writeHead(404, { 'Content-Type': 'text/html' });
        res.end('nothing');
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
    base = `http://127.0.0.1:${port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const allowLoopback = (overrides: Partial<Parameters<typeof createUrlPreviewFetcher>[0]> = {}) =>
    createUrlPreviewFetcher({ ipRangeWhitelist: ['127.0.0.1/32'], maxBytes: 4096, ...overrides });

  it('fetches a page: final URL, media type, charset, file name and body', async () => {
    const result = await allowLoopback().fetch(`${base}/hop/2`);
    expect(result).toEqual({
      ok: true,
      resource: { url: `${base}/page`, status: 200, mediaType: 'text/html', charset: 'iso-8859-1', fileName: 'page.html', body: new TextEncoder().encode('<title>ok</title>') },
    });
  });

  it('refuses loopback with the default blacklist, before connecting', async () => {
    const result = await createUrlPreviewFetcher({ ipRangeWhitelist: [], maxBytes: 4096 }).fetch(`${base}/page`);
    expect(result).toMatchObject({ ok: false, reason: 'blockedIp' });
  });

  it('checks every redirect hop: a hop to a refused address is refused', async () => {
    expect(await allowLoopback().fetch(`${base}/to-other-loopback`)).toMatchObject({ ok: false, reason: 'blockedIp' });
  });

  it('checks every resolved address and connects only to an allowed one (DNS rebinding)', async () => {
    const lookup = async () => ['10.0.0.1', '127.0.0.1'];
    const result = await allowLoopback({ lookup }).fetch(`http://preview.test:${port}/page`);
    expect(result).toMatchObject({ ok: true, resource: { url: `http://preview.test:${port}/page` } });
    const onlyRefused = await allowLoopback({ lookup: async () => ['10.0.0.1', '127.0.0.3'] }).fetch(`http://preview.test:${port}/page`);
    expect(onlyRefused).toMatchObject({ ok: false, reason: 'dns' });
    const unknown = await allowLoopback({ lookup: async () => { throw new Error('ENOTFOUND'); } }).fetch(`http://nowhere.test:${port}/`);
    expect(unknown).toMatchObject({ ok: false, reason: 'dns' });
  });

  it('follows a bounded number of redirects and refuses loops', async () => {
    expect(await allowLoopback({ maxRedirects: 2 }).fetch(`${base}/hop/5`)).toMatchObject({ ok: false, reason: 'unreachable', message: expect.stringMatching(/redirects/) });
    expect(await allowLoopback().fetch(`${base}/loop`)).toMatchObject({ ok: false, reason: 'unreachable', message: expect.stringMatching(/redirects/) });
  });

  it('refuses an answer larger than the limit, declared or streamed', async () => {
    expect(await allowLoopback().fetch(`${base}/declared-large`)).toMatchObject({ ok: false, reason: 'tooLarge', message: 'Requested file is too large > 4096 bytes' });
    expect(await allowLoopback().fetch(`${base}/streamed-large`)).toMatchObject({ ok: false, reason: 'tooLarge' });
  });

  it('gives up on a slow answer after the time limit', async () => {
    const started = Date.now();
    expect(await allowLoopback({ timeoutMs: 300 }).fetch(`${base}/slow`)).toMatchObject({ ok: false, reason: 'unreachable' });
    expect(Date.now() - started).toBeLessThan(1_500);
  });

  it('refuses content that cannot be previewed, and non-2xx answers', async () => {
    expect(await allowLoopback().fetch(`${base}/zip`)).toMatchObject({ ok: false, reason: 'contentType', message: "Requested file's content type not allowed for this operation: application/zip" });
    expect(await allowLoopback().fetch(`${base}/missing`)).toMatchObject({ ok: false, reason: 'status', message: 'Got error 404' });
  });

  it("checks HTTPS certificates: a self-signed one is refused, as Synapse's preview client refuses it", async () => {
    const credentials = createSelfSignedCertificate({ host: '127.0.0.1', notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 3_600_000) });
    const tls = createHttpsServer(credentials, (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/html' });
      res.end('<title>secret</title>');
    });
    await new Promise<void>((resolve) => tls.listen(0, '127.0.0.1', resolve));
    try {
      const result = await allowLoopback().fetch(`https://127.0.0.1:${(tls.address() as AddressInfo).port}/`);
      expect(result).toMatchObject({ ok: false, reason: 'unreachable', message: expect.stringMatching(/certificate/i) });
    } finally {
      await new Promise<void>((resolve) => tls.close(() => resolve()));
    }
  });

  it('reads Content-Disposition file names (filename* first)', () => {
    expect(fileNameOfContentDisposition("attachment; filename=\"a.png\"; filename*=UTF-8''%C3%A9t%C3%A9.png")).toBe('été.png');
    expect(fileNameOfContentDisposition('inline; filename="b.png"')).toBe('b.png');
    expect(fileNameOfContentDisposition('inline')).toBeUndefined();
    expect(fileNameOfContentDisposition(undefined)).toBeUndefined();
  });
});
