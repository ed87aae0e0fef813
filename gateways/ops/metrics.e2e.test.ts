import { afterEach, describe, expect, it } from 'vitest';
import { serveTestApp, type TestApp } from '../../test/harness/index.ts';
import { metricsRouter } from './index.ts';

const source = { render: async () => ({ contentType: 'text/plain; version=0.0.4; charset=utf-8', body: 'up 1\n' }) };

let app: TestApp | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

describe('GET /metrics with a bearer token', () => {
  it('answers 401 without the token or with another, naming the scheme', async () => {
    app = await serveTestApp({ routers: [metricsRouter(source, { token: 's3cret' })] });
    const missing = await fetch(`${app.url}/metrics`);
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toBe('Bearer realm="metrics"');
    expect(await missing.json()).toEqual({ errcode: 'M_MISSING_TOKEN', error: 'Missing bearer token' });
    for (const header of ['Bearer s3cre', 'Bearer s3cret2', 'Basic s3cret', 's3cret']) {
      const response = await fetch(`${app.url}/metrics`, { headers: { Authorization: header } });
      expect(response.status).toBe(401);
    }
  });

  it('serves the exposition to the token', async () => {
    app = await serveTestApp({ routers: [metricsRouter(source, { token: 's3cret' })] });
    const response = await fetch(`${app.url}/metrics`, { headers: { Authorization: 'Bearer s3cret' } });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('up 1\n');
  });
});
