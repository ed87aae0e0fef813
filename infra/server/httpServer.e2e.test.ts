import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { StartupError, startHttpServer } from './index.ts';

const localhost = { host: '127.0.0.1', port: 0 };

describe('startHttpServer', () => {
  it('binds an ephemeral port when asked for port 0 and reports it', async () => {
    const http = await startHttpServer((_req, res) => res.end('ok'), localhost);
    expect(http.address.port).toBeGreaterThan(0);
    expect(await (await fetch(`http://127.0.0.1:${http.address.port}/`)).text()).toBe('ok');
    await http.close(1_000);
  });

  it('fails with a one-line StartupError when the port is taken', async () => {
    const squatter = createServer().listen(0, '127.0.0.1');
    await once(squatter, 'listening');
    const { port } = squatter.address() as AddressInfo;
    try {
      const failure = await startHttpServer(() => undefined, { host: '127.0.0.1', port }).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(StartupError);
      expect((failure as Error).message).toBe(`cannot listen on 127.0.0.1:${port}: the address is already in use`);
    } finally {
      squatter.close();
    }
  });

  it('lets an in-flight request finish while refusing new connections', async () => {
    const http = await startHttpServer((_req, res) => {
      setTimeout(() => res.end('finished'), 300);
    }, localhost);
    const url = `http://127.0.0.1:${http.address.port}/`;
    const inFlight = fetch(url).then((response) => response.text());
    await new Promise((resolve) => setTimeout(resolve, 50));
    const closed = http.close(5_000);
    expect(await inFlight).toBe('finished');
    await closed;
    await expect(fetch(url)).rejects.toThrow();
  });

  it('cuts requests still running at the deadline', async () => {
    const http = await startHttpServer(() => undefined, localhost);
    const inFlight = fetch(`http://127.0.0.1:${http.address.port}/`).then(() => 'answered', () => 'cut');
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = Date.now();
    await http.close(200);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(await inFlight).toBe('cut');
  });
});
