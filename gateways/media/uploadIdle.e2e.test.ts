// An upload whose client stalls mid-body is given up after the idle timeout: the connection is
// closed and nothing of the body is kept (the media routes on the real store, a short timeout).
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Router } from '@koa/router';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMedia } from '../../domain/app/media/index.ts';
import type { SqlDatabase } from '../../domain/index.ts';
import type { RequestState, StrataMiddleware } from '../http/index.ts';
import { createFsMediaStore, createSqlMediaRepository } from '../../infra/media/index.ts';
import { createPgliteDatabase } from '../../infra/pglite/index.ts';
import { serveTestApp, type TestApp } from '../../test/harness/index.ts';
import { addMediaRoutes } from './clientRoutes.ts';

describe('media uploads that stall', () => {
  let dir: string;
  let db: SqlDatabase;
  let app: TestApp;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'strata-media-idle-'));
    db = await createPgliteDatabase({ dir: path.join(dir, 'pglite') });
    const media = createMedia({
      serverName: 'idle.test', store: await createFsMediaStore(path.join(dir, 'media')), repository: await createSqlMediaRepository(db),
      clock: { now: () => Date.now() }, random: { string: (length) => 'x'.repeat(length) }, maxUploadSize: 1024 * 1024, isAdmin: async () => false,
    });
    // Every request is alice's: the routes' own authentication is not what is tested here.
    const auth: StrataMiddleware = async (ctx, next) => {
      (ctx.state as unknown as { requester: unknown }).requester = { userId: '@alice:idle.test', deviceId: 'D', isGuest: false };
      await next();
    };
    const router = new Router<RequestState>();
    addMediaRoutes(router, { media, auth, uploadLimiter: null, uploadIdleTimeoutMs: 200 });
    app = await serveTestApp({ routers: [router] });
  });
  afterAll(async () => {
    await app?.close();
    await db?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('closes the connection and keeps nothing when the client pauses past the idle timeout', async () => {
    const { port } = new URL(app.url);
    const socket = connect(Number(port), '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write('POST /_matrix/media/v3/upload HTTP/1.1\r\nHost: idle.test\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\n');
    socket.write('only the first bytes');
    const started = Date.now();
    await new Promise((resolve) => socket.once('close', resolve));
    expect(Date.now() - started).toBeLessThan(5_000);
    // The store removes its temporary file as the failed body unwinds, just after the close.
    const tmp = path.join(dir, 'media', 'tmp');
    for (let attempt = 0; attempt < 50 && (await readdir(tmp)).length > 0; attempt++) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await readdir(tmp)).toEqual([]);
    const stored = await readdir(path.join(dir, 'media'), { recursive: true });
    expect(stored.filter((entry) => entry.startsWith('sha256') && entry.split(path.sep).length === 4)).toEqual([]);
  });
});
