// The dashboard's files through a running server without a warehouse (both deployments): the page
// and its bundle with their content types, a strict Content-Security-Policy, cache headers, and
// nothing else; in a browser, an analyst is told there is no warehouse.
import puppeteer from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MatrixClient, PASSWORD, startTestServer, type ServerMode, type TestServer } from '../../../test/harness/index.ts';

describe.each<ServerMode>(['embedded', 'distributed'])('analytics dashboard files (%s)', (mode) => {
  let server: TestServer;
  beforeAll(async () => { server = await startTestServer({ mode, config: { STRATA_ANALYTICS_ANALYSTS: '@ana:strata.test' } }); });
  afterAll(async () => { await server?.stop(); });

  const get = (path: string, headers: Record<string, string> = {}): Promise<Response> =>
    fetch(`${server.url}${path}`, { headers, redirect: 'manual' });

  it('serves the page, revalidated, under a strict policy, naming its hashed script and style', async () => {
    const page = await get('/_strata/analytics/');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('cache-control')).toBe('no-cache');
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    const policy = page.headers.get('content-security-policy') ?? '';
    expect(policy).toContain("default-src 'none'");
    expect(policy).toContain("script-src 'self'");
    expect(policy).toContain("style-src 'self'");
    expect(policy).toContain("frame-ancestors 'none'");
    expect(policy).not.toContain('unsafe');
    const html = await page.text();
    const script = /<script type="module" src="(app-[A-Z0-9]+\.js)"><\/script>/.exec(html)?.[1];
    const style = /<link rel="stylesheet" href="(style-[A-Z0-9]+\.css)">/.exec(html)?.[1];
    expect(script).toBeDefined();
    expect(style).toBeDefined();
    // No inline script: every <script> names its source.
    expect(html.match(/<script/g)).toHaveLength(1);

    const etag = page.headers.get('etag');
    expect(etag).toMatch(/^".+"$/);
    expect((await get('/_strata/analytics/', { 'If-None-Match': etag! })).status).toBe(304);

    const bundle = await get(`/_strata/analytics/${script!}`);
    expect(bundle.status).toBe(200);
    expect(bundle.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(bundle.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect((await bundle.text()).length).toBeGreaterThan(10_000);
    const css = await get(`/_strata/analytics/${style!}`);
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');

    const bare = await get('/_strata/analytics');
    expect(bare.status).toBe(301);
    expect(bare.headers.get('location')).toBe('/_strata/analytics/');
  });

  it('serves no other path: unknown names, traversal and the API prefix are not files', async () => {
    for (const path of [
      '/_strata/analytics/index.html', '/_strata/analytics/../../package.json', '/_strata/analytics/%2e%2e%2fpackage.json',
      '/_strata/analytics/..%2F..%2Fpackage.json', '/_strata/analytics/app.ts', '/_strata/analytics/v1',
    ]) {
      const answer = await get(path);
      expect(answer.status, path).toBe(404);
      expect(((await answer.json()) as { errcode: string }).errcode, path).toMatch(/^M_(UNRECOGNIZED|NOT_FOUND)$/);
    }
  });

  it('tells an analyst in the browser that the server has no warehouse', async () => {
    await new MatrixClient(server.url).register('ana');
    const browser = await puppeteer.launch({
      executablePath: process.env.STRATA_CHROMIUM_PATH ?? '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
    });
    try {
      const page = await browser.newPage();
      await page.goto(`${server.url}/_strata/analytics/`, { waitUntil: 'load' });
      await page.waitForSelector('#login-form', { visible: true });
      await page.type('#login-form input[name="user"]', 'ana');
      await page.type('#login-form input[name="password"]', PASSWORD);
      await page.click('#login-form button[type="submit"]');
      await page.waitForSelector('#refusal', { visible: true });
      expect(await page.$eval('#refusal-text', (node) => node.textContent)).toContain('no analytics warehouse');
    } finally {
      await browser.close();
    }
  });
});
