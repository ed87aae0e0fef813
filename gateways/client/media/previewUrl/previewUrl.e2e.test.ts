// GET /media/preview_url (authed-content-repo.yaml; legacy content-repo.yaml) over HTTP in both
// deployments, against a web server on loopback that the test starts: with loopback allowed
// (url_preview_ip_range_whitelist) pages are previewed; with the default blacklist the same URL is
// refused as Synapse refuses it; with previews off the endpoint is not there.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MatrixClient, quietSdkRootLogger, recordingSdkLogger, sdkClientFor, startTestServer, type ServerMode, type TestServer, type UserClient,
} from '../../../../test/harness/index.ts';
import { imageFixtures } from '../../../../test/fixtures/media/index.ts';

const PREVIEW = '/_matrix/client/v1/media/preview_url';

/**
 * A request whose answer stays out of the spec check: preview_url documents only 200 and 429, while
 * Synapse answers refusals with 400, 403, 404 and 502 (as asserted here). Successes are checked.
 */
const unchecked = async (server: TestServer, token: string | undefined, query: Record<string, string>, path: string = PREVIEW): Promise<{ status: number; body: Record<string, unknown> }> => {
  const response = await fetch(`${server.url}${path}?${new URLSearchParams(query).toString()}`, token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } });
  return { status: response.status, body: await response.json() as Record<string, unknown> };
};

const startWebServer = async (png: Buffer): Promise<{ server: Server; base: string }> => {
  const server = createServer((req, res) => {
    const html = (body: string | Buffer, type = 'text/html; charset=utf-8') => {
      res.writeHead(200, { 'Content-Type': type });
      res.end(body);
    };
    switch (req.url) {
      case '/og':
        return html(`<html><head><meta property="og:title" content="Strata &amp; friends">
          <meta property="og:description" content="A homeserver">
          <meta property="og:type" content="website"><title>not this</title></head><body>hello</body></html>`);
      case '/title-only':
        return html('<html><head><title>Just a title</title><meta name="description" content="Described"></head><body><p>Body</p></body></html>');
      case '/latin1':
        return html(Buffer.concat([Buffer.from('<html><head><meta charset="iso-8859-1"><title>Caf'), Buffer.from([0xe9]), Buffer.from('</title></head></html>')]), 'text/html');
      case '/with-image':
        return html('<html><head><meta property="og:title" content="Pictured"><meta property="og:image" content="/images/cover.png"></head></html>');
      case '/images/cover.png':
        res.writeHead(200, { 'Content-Type': 'image/png', 'Content-Disposition': 'inline; filename="cover.png"' });
        return res.end(png);
      case '/talk':
        return html('<html><head><link rel="alternate" type="application/json+oembed" href="/oembed.json"><title>Talk page</title></head></html>');
      case '/oembed.json':
        return html(JSON.stringify({ version: '1.0', type: 'rich', provider_name: 'Talks', html: '<p>A talk about rooms</p>' }), 'application/json');
      case '/redirect':
        res.writeHead(302, { Location: '/og' });
        return res.end();
      case '/big':
        return html(`<title>big</title>${'x'.repeat(100 * 1024)}`);
      case '/zip':
        return html('PK', 'application/zip');
      default:
        res.writeHead(404, { 'Content-Type': 'text/plain' });
        return res.end('not found');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
};

describe.each<ServerMode>(['embedded', 'distributed'])('GET /media/preview_url (%s)', (mode) => {
  let web: { server: Server; base: string };
  let allowed: TestServer;
  let defaults: TestServer;
  let disabled: TestServer;
  let alice: UserClient;
  let bob: UserClient;
  let carol: UserClient;
  let png: Buffer;

  beforeAll(async () => {
    png = (await imageFixtures(64, 48)).find((fixture) => fixture.contentType === 'image/png')!.bytes;
    web = await startWebServer(png);
    // One after the other: three servers creating their topics at once strain a shared Kafka.
    allowed = await startTestServer({ mode, file: { url_preview_enabled: true, url_preview_ip_range_whitelist: ['127.0.0.1/32'], max_spider_size: '64K', url_preview_url_blacklist: [{ path: '/forbidden*' }] } });
    defaults = await startTestServer({ mode, file: { url_preview_enabled: true } });
    disabled = await startTestServer({ mode });
    const register = async (server: TestServer, name: string) => {
      const client = new MatrixClient(server.url);
      return client.as(await client.register(name));
    };
    [alice, bob, carol] = await Promise.all([register(allowed, 'alice'), register(defaults, 'bob'), register(disabled, 'carol')]);
  });
  afterAll(async () => {
    await Promise.all([allowed?.stop(), defaults?.stop(), disabled?.stop()]);
    await new Promise<void>((resolve) => web?.server.close(() => resolve()));
  });

  it('previews a page from its OpenGraph tags', async () => {
    const reply = await alice.request('GET', PREVIEW, { query: { url: `${web.base}/og` } });
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ 'og:title': 'Strata & friends', 'og:description': 'A homeserver', 'og:type': 'website' });
  });

  it('falls back to <title> and meta description, and decodes the declared charset', async () => {
    expect((await alice.request('GET', PREVIEW, { query: { url: `${web.base}/title-only`, ts: Date.now() } })).body)
      .toEqual({ 'og:title': 'Just a title', 'og:description': 'Described' });
    expect((await alice.request('GET', PREVIEW, { query: { url: `${web.base}/latin1` } })).body).toEqual({ 'og:title': 'Café' });
  });

  it("keeps a page's og:image as the requester's media: mxc:// URI, type, size and dimensions, downloadable byte for byte", async () => {
    const reply = await alice.request('GET', PREVIEW, { query: { url: `${web.base}/with-image` } });
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({
      'og:title': 'Pictured',
      'og:image': expect.stringMatching(new RegExp(`^mxc://${allowed.serverName.replace(/\./g, '\\.')}/[A-Za-z0-9_-]+$`)),
      'og:image:type': 'image/png',
      'og:image:width': 64,
      'og:image:height': 48,
      'matrix:image:size': png.length,
    });
    const mediaPath = (reply.body['og:image'] as string).slice('mxc://'.length);
    const download = await fetch(`${allowed.url}/_matrix/client/v1/media/download/${mediaPath}`, { headers: { authorization: `Bearer ${alice.session.accessToken}` } });
    expect(download.status).toBe(200);
    expect(Buffer.from(await download.arrayBuffer()).equals(png)).toBe(true);
  });

  it('previews an image URL as the image itself, its file name as og:description', async () => {
    const reply = await alice.request('GET', PREVIEW, { query: { url: `${web.base}/images/cover.png` } });
    expect(reply.body).toEqual({
      'og:description': 'cover.png',
      'og:image': expect.stringMatching(/^mxc:\/\//),
      'og:image:type': 'image/png',
      'og:image:width': 64,
      'og:image:height': 48,
      'matrix:image:size': png.length,
    });
  });

  it('merges the oEmbed a page links to under its own OpenGraph', async () => {
    expect((await alice.request('GET', PREVIEW, { query: { url: `${web.base}/talk` } })).body)
      .toEqual({ 'og:title': 'Talk page', 'og:site_name': 'Talks', 'og:description': 'A talk about rooms' });
  });

  it("answers matrix-js-sdk's getUrlPreview (the legacy path, ts to the minute)", async () => {
    quietSdkRootLogger();
    const logger = recordingSdkLogger();
    const sdk = sdkClientFor(allowed.url, alice.session, logger);
    expect(await sdk.getUrlPreview(`${web.base}/with-image#section`, Date.now())).toMatchObject({
      'og:title': 'Pictured', 'og:image': expect.stringMatching(/^mxc:\/\//), 'matrix:image:size': png.length,
    });
    expect(logger.problems).toEqual([]);
    sdk.stopClient();
  });

  it('follows redirects, and serves the legacy path too', async () => {
    expect((await alice.request('GET', PREVIEW, { query: { url: `${web.base}/redirect` } })).body).toMatchObject({ 'og:title': 'Strata & friends' });
    const legacy = await alice.request('GET', '/_matrix/media/v3/preview_url', { query: { url: `${web.base}/og` } });
    expect(legacy.status).toBe(200);
    expect(legacy.body).toMatchObject({ 'og:title': 'Strata & friends' });
  });

  it("answers Synapse's errors: too large, not previewable, not found, URL blacklist", async () => {
    expect(await unchecked(allowed, alice.session.accessToken, { url: `${web.base}/big` })).toMatchObject({ status: 502, body: { errcode: 'M_TOO_LARGE' } });
    expect(await unchecked(allowed, alice.session.accessToken, { url: `${web.base}/zip` })).toMatchObject({ status: 502, body: { errcode: 'M_UNKNOWN' } });
    expect(await unchecked(allowed, alice.session.accessToken, { url: `${web.base}/missing` })).toMatchObject({ status: 502, body: { errcode: 'M_UNKNOWN', error: 'Got error 404' } });
    expect(await unchecked(allowed, alice.session.accessToken, { url: `${web.base}/forbidden/page` }))
      .toMatchObject({ status: 403, body: { errcode: 'M_UNKNOWN', error: 'URL blocked by url pattern blacklist entry' } });
  });

  it('refuses bad parameters and requests without an access token', async () => {
    expect(await unchecked(allowed, alice.session.accessToken, {})).toMatchObject({ status: 400, body: { errcode: 'M_MISSING_PARAM' } });
    expect(await unchecked(allowed, alice.session.accessToken, { url: 'file:///etc/passwd' })).toMatchObject({ status: 400, body: { errcode: 'M_INVALID_PARAM' } });
    expect(await unchecked(allowed, alice.session.accessToken, { url: `${web.base}/og`, ts: 'yesterday' })).toMatchObject({ status: 400, body: { errcode: 'M_INVALID_PARAM' } });
    const anonymous = await new MatrixClient(allowed.url).request('GET', PREVIEW, { query: { url: `${web.base}/og` } });
    expect(anonymous).toMatchObject({ status: 401, body: { errcode: 'M_MISSING_TOKEN' } });
  });

  it('refuses the same loopback URL with the default IP blacklist', async () => {
    const reply = await unchecked(defaults, bob.session.accessToken, { url: `${web.base}/og` });
    expect(reply).toMatchObject({ status: 403, body: { errcode: 'M_UNKNOWN', error: 'IP address blocked by IP blacklist entry' } });
    // A name that resolves to loopback only is refused as a name without addresses (Synapse: 502).
    const byName = await unchecked(defaults, bob.session.accessToken, { url: `${web.base.replace('127.0.0.1', 'localhost')}/og` });
    expect(byName).toMatchObject({ status: 502, body: { errcode: 'M_UNKNOWN', error: 'DNS resolution failure during URL preview generation' } });
  });

  it('is not there when previews are off (404 M_UNRECOGNIZED, as Synapse)', async () => {
    expect(await unchecked(disabled, carol.session.accessToken, { url: `${web.base}/og` })).toMatchObject({ status: 404, body: { errcode: 'M_UNRECOGNIZED' } });
    expect(await unchecked(disabled, carol.session.accessToken, { url: `${web.base}/og` }, '/_matrix/media/v3/preview_url')).toMatchObject({ status: 404, body: { errcode: 'M_UNRECOGNIZED' } });
  });
});
