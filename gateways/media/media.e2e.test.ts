// The content repository over HTTP in both deployments (client-server-api § Content repository):
// uploads (direct and asynchronous), authenticated and legacy downloads, limits, safety headers and
// Synapse's media admin API.
import { createHash, randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MatrixClient, e, quietSdkRootLogger, recordingSdkLogger, sdkClientFor, startTestServer, type Body, type ServerMode, type Session, type TestServer } from '../../test/harness/index.ts';
import { imageFixtures } from '../../test/fixtures/media/index.ts';
import { MEDIA_CONTENT_SECURITY_POLICY } from './headers.ts';

const MiB = 1024 * 1024;
const CLIENT_MEDIA = '/_matrix/client/v1/media';
const LEGACY_MEDIA = '/_matrix/media/v3';
/** Uploads a user may make at once before the rate limit answers (the config below). */
const UPLOAD_BURST = 25;

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly bytes: Buffer;
  readonly json: Body | undefined;
}

describe.each<ServerMode>(['embedded', 'distributed'])('media (%s)', (mode) => {
  let server: TestServer;
  let client: MatrixClient;
  let alice: Session;
  let bob: Session;
  let admin: Session;

  /** `specChecked: false` for answers the spec's operation leaves out but Synapse gives (a malformed query parameter). */
  const send = async (method: string, url: string, options: { token?: string; body?: RequestInit['body']; type?: string; headers?: Record<string, string>; specChecked?: boolean } = {}): Promise<Answer> => {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
    if (options.type !== undefined) headers['content-type'] = options.type;
    const response = await fetch(`${server.url}${url}`, {
      method, headers, ...(options.body === undefined ? {} : { body: options.body, duplex: 'half' } as RequestInit),
    });
    const bytes = Buffer.from(await response.arrayBuffer());
    let json: Body | undefined;
    if ((response.headers.get('content-type') ?? '').startsWith('application/json')) {
      json = JSON.parse(bytes.toString('utf8')) as Body;
      if (process.env.STRATA_VALIDATE_SPEC === '1' && options.specChecked !== false) {
        const { recordSpecCheck } = await import('../../test/conformance/specHook.ts');
        recordSpecCheck(method, new URL(`${server.url}${url}`).pathname, response.status, json);
      }
    }
    return { status: response.status, headers: response.headers, bytes, json };
  };
  const upload = async (who: Session, bytes: Uint8Array, type?: string, filename?: string): Promise<string> => {
    const answer = await send('POST', `${LEGACY_MEDIA}/upload${filename === undefined ? '' : `?filename=${e(filename)}`}`, {
      token: who.accessToken, body: bytes, ...(type === undefined ? {} : { type }),
    });
    expect(answer.status, JSON.stringify(answer.json)).toBe(200);
    expect(answer.json?.content_uri).toMatch(new RegExp(`^mxc://${server.serverName.replace('.', '\\.')}/[A-Za-z0-9_-]+$`));
    return answer.json!.content_uri as string;
  };
  const pathOf = (mxc: string): string => mxc.slice('mxc://'.length);
  const download = (who: Session | undefined, mxc: string, suffix = ''): Promise<Answer> =>
    send('GET', `${CLIENT_MEDIA}/download/${pathOf(mxc)}${suffix}`, who === undefined ? {} : { token: who.accessToken });
  const expectError = (answer: Answer, status: number, errcode: string): void => {
    expect({ status: answer.status, errcode: answer.json?.errcode }).toEqual({ status, errcode });
  };
  const mediaFiles = async (sub: string): Promise<string[]> => {
    const walk = async (dir: string): Promise<string[]> => {
      const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
      const nested = await Promise.all(entries.map((entry) =>
        (entry.isDirectory() ? walk(path.join(dir, entry.name)) : Promise.resolve([path.join(dir, entry.name)]))));
      return nested.flat();
    };
    return walk(path.join(server.dataDir, 'media', sub));
  };

  beforeAll(async () => {
    server = await startTestServer({
      mode,
      config: { STRATA_ALLOW_GUEST_ACCESS: 'true' },
      file: { max_upload_size: '41M', rate_limits: { login: false, registration: false, threepid_validation: false, media_create: { per_second: 0.001, burst: UPLOAD_BURST } } },
    });
    client = new MatrixClient(server.url);
    alice = await client.register('alice');
    bob = await client.register('bob');
    admin = await client.registerWithSharedSecret(server.registrationSharedSecret, 'root', { admin: true });
  });
  afterAll(() => server?.stop());

  it('round-trips text and images byte for byte, with their type, name and the safety headers', async () => {
    const text = Buffer.from('hello, media ✓\n', 'utf8');
    const files = [{ name: 'hello.txt', contentType: 'text/plain', bytes: text }, ...await imageFixtures()];
    for (const file of files) {
      const mxc = await upload(alice, file.bytes, file.contentType, file.name);
      const answer = await download(bob, mxc);
      expect(answer.status).toBe(200);
      expect(sha256(answer.bytes)).toBe(sha256(file.bytes));
      expect(answer.headers.get('content-length')).toBe(String(file.bytes.length));
      expect(answer.headers.get('content-type')).toBe(file.contentType === 'text/plain' ? 'text/plain; charset=UTF-8' : file.contentType);
      expect(answer.headers.get('content-disposition')).toBe(`inline; filename=${file.name}`);
      expect(answer.headers.get('content-security-policy')).toBe(MEDIA_CONTENT_SECURITY_POLICY);
      expect(answer.headers.get('x-content-type-options')).toBe('nosniff');
      expect(answer.headers.get('cross-origin-resource-policy')).toBe('cross-origin');
    }
  });

  it('names the file as the download path asks, encoded so that no name can inject a header', async () => {
    const mxc = await upload(alice, Buffer.from('<script>alert(1)</script>'), 'text/html', 'page.html');
    const plain = await download(alice, mxc);
    expect(plain.headers.get('content-type')).toBe('text/html; charset=UTF-8');
    expect(plain.headers.get('content-disposition')).toBe('attachment; filename=page.html');
    const renamed = await download(alice, mxc, `/${e('evil"\r\nSet-Cookie: x=1; é.html')}`);
    expect(renamed.status).toBe(200);
    expect(renamed.headers.get('set-cookie')).toBeNull();
    expect(renamed.headers.get('content-disposition')).toBe("attachment; filename*=utf-8''evil%22%0D%0ASet-Cookie%3A%20x%3D1%3B%20%C3%A9.html");
    const unnamed = await upload(alice, Buffer.from('{}'), 'application/json');
    expect((await download(alice, unnamed)).headers.get('content-disposition')).toBe('inline');
    // HEAD answers the headers alone; errors carry the safety headers too.
    const head = await send('HEAD', `${CLIENT_MEDIA}/download/${pathOf(mxc)}`, { token: alice.accessToken });
    expect([head.status, head.headers.get('content-length'), head.bytes.length]).toEqual([200, '25', 0]);
    const missing = await send('GET', `${CLIENT_MEDIA}/download/${server.serverName}/nosuchmedia`, { token: alice.accessToken });
    expect([missing.status, missing.headers.get('content-security-policy'), missing.headers.get('x-content-type-options')])
      .toEqual([404, MEDIA_CONTENT_SECURITY_POLICY, 'nosniff']);
  });

  it('stores a zero-byte upload, defaulting its type, and keeps one copy of identical uploads', async () => {
    const empty = await upload(bob, new Uint8Array(0));
    const answer = await download(bob, empty);
    expect([answer.status, answer.bytes.length, answer.headers.get('content-type')]).toEqual([200, 0, 'application/octet-stream']);
    const same = randomBytes(4096);
    const copies = await Promise.all([1, 2, 3, 4].map(() => upload(bob, same, 'application/octet-stream')));
    expect(new Set(copies).size).toBe(4);
    for (const mxc of copies) expect(sha256((await download(alice, mxc)).bytes)).toBe(sha256(same));
    expect((await mediaFiles('sha256')).filter((file) => path.basename(file) === sha256(same))).toHaveLength(1);
  });

  it('streams a 40 MiB upload and download', async () => {
    const big = randomBytes(40 * MiB);
    const mxc = await upload(alice, big, 'application/octet-stream', 'big.bin');
    const answer = await download(alice, mxc);
    expect(answer.status).toBe(200);
    expect(answer.bytes.length).toBe(big.length);
    expect(sha256(answer.bytes)).toBe(sha256(big));
    expect(answer.headers.get('content-disposition')).toBe('attachment; filename=big.bin');
  }, 120_000);

  it('refuses an upload over max_upload_size with 413 M_TOO_LARGE, declared or streamed, leaving no file', async () => {
    const config = await client.ok('GET', `${CLIENT_MEDIA}/config`, { token: bob.accessToken });
    expect(config).toEqual({ 'm.upload.size': 41 * MiB });
    expect(await client.ok('GET', `${LEGACY_MEDIA}/config`, { token: bob.accessToken })).toEqual(config);

    const declared = await send('POST', `${LEGACY_MEDIA}/upload`, { token: bob.accessToken, body: randomBytes(41 * MiB + 1) });
    expectError(declared, 413, 'M_TOO_LARGE');
    // Without a Content-Length the limit is found while the body streams.
    const chunk = randomBytes(MiB);
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent > 45 * MiB) return controller.close();
        sent += chunk.length;
        controller.enqueue(chunk);
      },
    });
    const streamed = await send('POST', `${LEGACY_MEDIA}/upload`, { token: bob.accessToken, body: stream });
    expectError(streamed, 413, 'M_TOO_LARGE');
    expect(await mediaFiles('tmp')).toEqual([]);
  }, 60_000);

  it('leaves no partial file when the client disconnects mid-upload', async () => {
    const controller = new AbortController();
    const chunk = randomBytes(256 * 1024);
    let pulls = 0;
    const stream = new ReadableStream<Uint8Array>({
      async pull(stream) {
        pulls += 1;
        if (pulls === 8) {
          controller.abort();
          return;
        }
        stream.enqueue(chunk);
        await new Promise((resolve) => setTimeout(resolve, 10));
      },
    });
    const before = (await mediaFiles('sha256')).length;
    await expect(fetch(`${server.url}${LEGACY_MEDIA}/upload`, {
      method: 'POST', headers: { authorization: `Bearer ${bob.accessToken}` }, body: stream, duplex: 'half', signal: controller.signal,
    } as RequestInit)).rejects.toThrow();
    // The server notices the reset and removes its temporary file.
    for (let attempt = 0; attempt < 50 && (await mediaFiles('tmp')).length > 0; attempt++) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await mediaFiles('tmp')).toEqual([]);
    expect((await mediaFiles('sha256')).length).toBe(before);
    // The server still serves.
    expect((await download(bob, await upload(bob, Buffer.from('after'), 'text/plain'))).bytes.toString()).toBe('after');
  });

  it('asks for an access token, and answers 404 for unknown, malformed or (with allow_remote=false) remote media ids', async () => {
    const mxc = await upload(alice, Buffer.from('secret'), 'text/plain');
    expectError(await download(undefined, mxc), 401, 'M_MISSING_TOKEN');
    expectError(await send('POST', `${LEGACY_MEDIA}/upload`, { body: Buffer.from('x') }), 401, 'M_MISSING_TOKEN');
    await client.fails('GET', `${CLIENT_MEDIA}/config`, { status: 401, errcode: 'M_MISSING_TOKEN' });
    for (const mediaPath of [
      `${server.serverName}/nosuchmedia`, `other.example/${pathOf(mxc).split('/')[1]}?allow_remote=false`,
      `${server.serverName}/..%2F..%2Fstrata.yaml`, `${server.serverName}/${e('a.b')}`,
    ]) {
      expectError(await send('GET', `${CLIENT_MEDIA}/download/${mediaPath}`, { token: alice.accessToken }), 404, 'M_NOT_FOUND');
    }
    // Synapse's parse_integer: 400 M_INVALID_PARAM (download documents no 400).
    expectError(await send('GET', `${CLIENT_MEDIA}/download/${pathOf(mxc)}?timeout_ms=soon`, { token: alice.accessToken, specChecked: false }), 400, 'M_INVALID_PARAM');
  });

  it('lets guests download media but not upload it', async () => {
    const guest = await client.ok('POST', '/register', { query: { kind: 'guest' }, json: {} });
    const mxc = await upload(alice, Buffer.from('for guests too'), 'text/plain');
    const answer = await send('GET', `${CLIENT_MEDIA}/download/${pathOf(mxc)}`, { token: guest.access_token as string });
    expect([answer.status, answer.bytes.toString()]).toEqual([200, 'for guests too']);
    expectError(await send('POST', `${LEGACY_MEDIA}/upload`, { token: guest.access_token as string, body: Buffer.from('x') }), 403, 'M_GUEST_ACCESS_FORBIDDEN');
    await client.fails('POST', '/_matrix/media/v1/create', { status: 403, errcode: 'M_GUEST_ACCESS_FORBIDDEN' }, { token: guest.access_token as string });
    await client.fails('GET', `${CLIENT_MEDIA}/config`, { status: 403, errcode: 'M_GUEST_ACCESS_FORBIDDEN' }, { token: guest.access_token as string });
  });

  it('serves new media only through the authenticated endpoints (legacy downloads answer 404)', async () => {
    const mxc = await upload(alice, Buffer.from('new media'), 'text/plain');
    expectError(await send('GET', `${LEGACY_MEDIA}/download/${pathOf(mxc)}`), 404, 'M_NOT_FOUND');
    expectError(await send('GET', `${LEGACY_MEDIA}/download/${pathOf(mxc)}/name.txt`, { token: alice.accessToken }), 404, 'M_NOT_FOUND');
    expect((await download(alice, mxc)).status).toBe(200);
  });

  it('creates a media id for an asynchronous upload: once, only by its creator, awaited by downloads', async () => {
    const created = await client.ok('POST', '/_matrix/media/v1/create', { token: alice.accessToken });
    expect(created.content_uri).toMatch(/^mxc:\/\//);
    expect(created.unused_expires_at).toBeGreaterThan(Date.now());
    const mxc = created.content_uri as string;

    expectError(await send('GET', `${CLIENT_MEDIA}/download/${pathOf(mxc)}?timeout_ms=0`, { token: bob.accessToken }), 504, 'M_NOT_YET_UPLOADED');
    expectError(await send('PUT', `${LEGACY_MEDIA}/upload/${pathOf(mxc)}`, { token: bob.accessToken, body: Buffer.from('not yours') }), 403, 'M_FORBIDDEN');
    expectError(await send('PUT', `${LEGACY_MEDIA}/upload/${server.serverName}/nosuchmedia`, { token: alice.accessToken, body: Buffer.from('x') }), 404, 'M_NOT_FOUND');
    expectError(await send('PUT', `${LEGACY_MEDIA}/upload/other.example/${pathOf(mxc).split('/')[1]}`, { token: alice.accessToken, body: Buffer.from('x') }), 404, 'M_NOT_FOUND');

    // A download waiting on the pending id is answered as soon as the content arrives.
    const waiting = download(bob, mxc, '?timeout_ms=20000');
    await new Promise((resolve) => setTimeout(resolve, 200));
    const put = await send('PUT', `${LEGACY_MEDIA}/upload/${pathOf(mxc)}?filename=late.txt`, { token: alice.accessToken, body: Buffer.from('late content'), type: 'text/plain' });
    expect([put.status, put.json]).toEqual([200, {}]);
    const answer = await waiting;
    expect([answer.status, answer.bytes.toString(), answer.headers.get('content-disposition')]).toEqual([200, 'late content', 'inline; filename=late.txt']);

    expectError(await send('PUT', `${LEGACY_MEDIA}/upload/${pathOf(mxc)}`, { token: alice.accessToken, body: Buffer.from('again') }), 409, 'M_CANNOT_OVERWRITE_MEDIA');
  });

  it('limits pending asynchronous uploads and the rate of uploads per user', async () => {
    const carol = await client.register('carol');
    for (let i = 0; i < 5; i++) await client.ok('POST', '/_matrix/media/v1/create', { token: carol.accessToken });
    await client.fails('POST', '/_matrix/media/v1/create', { status: 429, errcode: 'M_LIMIT_EXCEEDED' }, { token: carol.accessToken });
    for (let i = 5; i < UPLOAD_BURST - 1; i++) await upload(carol, Buffer.from(`${i}`), 'text/plain');
    const limited = await send('POST', `${LEGACY_MEDIA}/upload`, { token: carol.accessToken, body: Buffer.from('one too many') });
    expectError(limited, 429, 'M_LIMIT_EXCEEDED');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    // Others are not limited by carol's uploads.
    await upload(bob, Buffer.from('still fine'), 'text/plain');
  });

  it('lets a matrix-js-sdk client upload an image that another downloads', async () => {
    quietSdkRootLogger();
    const logger = recordingSdkLogger();
    const [png] = await imageFixtures(32, 32);
    const sdkAlice = sdkClientFor(server.url, alice, logger);
    const sdkBob = sdkClientFor(server.url, bob, logger);
    const { content_uri: mxc } = await sdkAlice.uploadContent(new Blob([png!.bytes], { type: 'image/png' }), { name: 'avatar.png', type: 'image/png' });
    const url = sdkBob.mxcUrlToHttp(mxc, undefined, undefined, undefined, false, true, true);
    expect(url).toContain(CLIENT_MEDIA);
    const response = await fetch(url!, { headers: { authorization: `Bearer ${bob.accessToken}` } });
    expect(response.status).toBe(200);
    expect(sha256(Buffer.from(await response.arrayBuffer()))).toBe(sha256(png!.bytes));
    expect(response.headers.get('content-type')).toBe('image/png');
  });

  it('serves Synapse\'s media admin API to server administrators only', async () => {
    for (const text of ['earlier', 'earlier still']) await upload(bob, Buffer.from(text), 'text/plain');
    const mxc = await upload(bob, Buffer.from('admin me'), 'text/plain', 'doc.txt');
    const [, mediaId] = pathOf(mxc).split('/');
    const adminPath = `/_synapse/admin/v1`;
    await client.fails('POST', `${adminPath}/media/quarantine/${pathOf(mxc)}`, { status: 403, errcode: 'M_FORBIDDEN' }, { token: bob.accessToken });

    const listed = await client.ok('GET', `${adminPath}/users/${e(bob.userId)}/media`, { token: admin.accessToken, query: { limit: 2, order_by: 'created_ts', dir: 'b' } });
    expect(listed.media).toHaveLength(2);
    expect(listed.media[0]).toMatchObject({ media_id: mediaId, media_type: 'text/plain', media_length: 8, upload_name: 'doc.txt', quarantined_by: null });
    expect(listed.total).toBeGreaterThan(2);
    expect(listed.next_token).toBe(2);
    await client.fails('GET', `${adminPath}/users/${e(bob.userId)}/media`, { status: 400, errcode: 'M_INVALID_PARAM' }, { token: admin.accessToken, query: { order_by: 'size; DROP TABLE media' } });

    expect(await client.ok('POST', `${adminPath}/media/quarantine/${pathOf(mxc)}`, { token: admin.accessToken })).toEqual({});
    expectError(await download(bob, mxc), 404, 'M_NOT_FOUND');
    expect(await client.ok('POST', `${adminPath}/media/unquarantine/${pathOf(mxc)}`, { token: admin.accessToken })).toEqual({});
    expect((await download(bob, mxc)).status).toBe(200);

    expect(await client.ok('DELETE', `${adminPath}/media/${pathOf(mxc)}`, { token: admin.accessToken })).toEqual({ deleted_media: [mediaId], total: 1 });
    expectError(await download(bob, mxc), 404, 'M_NOT_FOUND');
    expect((await mediaFiles('sha256')).some((file) => path.basename(file) === sha256(Buffer.from('admin me')))).toBe(false);
    await client.fails('DELETE', `${adminPath}/media/${pathOf(mxc)}`, { status: 404, errcode: 'M_NOT_FOUND' }, { token: admin.accessToken });
    await client.fails('DELETE', `${adminPath}/media/other.example/abc`, { status: 400, errcode: 'M_INVALID_PARAM' }, { token: admin.accessToken });

    const dave = await client.register('dave');
    const daves = await Promise.all(['one', 'two'].map((text) => upload(dave, Buffer.from(text), 'text/plain')));
    await client.fails('DELETE', `${adminPath}/users/${e(dave.userId)}/media`, { status: 403, errcode: 'M_FORBIDDEN' }, { token: dave.accessToken });
    const wiped = await client.ok('DELETE', `${adminPath}/users/${e(dave.userId)}/media`, { token: admin.accessToken });
    expect(wiped.total).toBe(2);
    expect([...wiped.deleted_media].sort()).toEqual(daves.map((mxc) => pathOf(mxc).split('/')[1]).sort());
    expect((await client.ok('GET', `${adminPath}/users/${e(dave.userId)}/media`, { token: admin.accessToken })).total).toBe(0);
    for (const mxc of daves) expectError(await download(dave, mxc), 404, 'M_NOT_FOUND');

    expect(await client.ok('POST', `${adminPath}/purge_media_cache`, { token: admin.accessToken, query: { before_ts: Date.now() } })).toEqual({ deleted: 0 });
    await client.fails('POST', `${adminPath}/purge_media_cache`, { status: 400, errcode: 'M_MISSING_PARAM' }, { token: admin.accessToken });
    await client.fails('POST', `${adminPath}/purge_media_cache`, { status: 403, errcode: 'M_FORBIDDEN' }, { token: bob.accessToken, query: { before_ts: Date.now() } });
  });
});
