// Thumbnails over HTTP in both deployments (client-server-api § Thumbnails): each image type at
// several sizes and both methods, the sizes made at upload served as they are, other sizes rendered
// once and kept, animation, EXIF orientation, the refusals, and deletion with the media.
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MatrixClient, e, quietSdkRootLogger, recordingSdkLogger, sdkClientFor, startTestServer, type Body, type ServerMode, type Session, type TestServer,
} from '../../test/harness/index.ts';
import { imageFixtures } from '../../test/fixtures/media/index.ts';
import { MEDIA_CONTENT_SECURITY_POLICY } from './headers.ts';

const CLIENT_MEDIA = '/_matrix/client/v1/media';
const LEGACY_MEDIA = '/_matrix/media/v3';

interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly bytes: Buffer;
  readonly json: Body | undefined;
}

/** The static thumbnail type of each source type (Synapse's THUMBNAIL_SUPPORTED_MEDIA_FORMAT_MAP). */
const THUMBNAIL_TYPE: Record<string, string> = { 'image/png': 'image/png', 'image/jpeg': 'image/jpeg', 'image/gif': 'image/png', 'image/webp': 'image/jpeg' };

describe.each<ServerMode>(['embedded', 'distributed'])('thumbnails (%s)', (mode) => {
  let server: TestServer;
  let client: MatrixClient;
  let alice: Session;
  let bob: Session;
  let admin: Session;

  const send = async (method: string, url: string, options: { token?: string; body?: Uint8Array; type?: string } = {}): Promise<Answer> => {
    const headers: Record<string, string> = {};
    if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
    if (options.type !== undefined) headers['content-type'] = options.type;
    const response = await fetch(`${server.url}${url}`, { method, headers, ...(options.body === undefined ? {} : { body: options.body }) });
    const bytes = Buffer.from(await response.arrayBuffer());
    let json: Body | undefined;
    if ((response.headers.get('content-type') ?? '').startsWith('application/json')) {
      json = JSON.parse(bytes.toString('utf8')) as Body;
      if (process.env.STRATA_VALIDATE_SPEC === '1') {
        const { recordSpecCheck } = await import('../../test/conformance/specHook.ts');
        recordSpecCheck(method, new URL(`${server.url}${url}`).pathname, response.status, json);
      }
    }
    return { status: response.status, headers: response.headers, bytes, json };
  };
  const upload = async (who: Session, bytes: Uint8Array, type: string): Promise<string> => {
    const answer = await send('POST', `${LEGACY_MEDIA}/upload`, { token: who.accessToken, body: bytes, type });
    expect(answer.status, JSON.stringify(answer.json)).toBe(200);
    return (answer.json!.content_uri as string).slice('mxc://'.length);
  };
  const thumbnail = (who: Session | undefined, mediaPath: string, query: string, prefix = CLIENT_MEDIA): Promise<Answer> =>
    send('GET', `${prefix}/thumbnail/${mediaPath}?${query}`, who === undefined ? {} : { token: who.accessToken });
  const expectError = (answer: Answer, status: number, errcode: string): void => {
    expect({ status: answer.status, errcode: answer.json?.errcode }).toEqual({ status, errcode });
  };
  const blobCount = async (): Promise<number> => {
    const walk = async (dir: string): Promise<number> => {
      const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
      const counts = await Promise.all(entries.map((entry) => (entry.isDirectory() ? walk(path.join(dir, entry.name)) : Promise.resolve(1))));
      return counts.reduce((a, b) => a + b, 0);
    };
    return walk(path.join(server.dataDir, 'media', 'sha256'));
  };
  const imageOf = async (answer: Answer) => {
    expect(answer.status, answer.bytes.toString('utf8').slice(0, 200)).toBe(200);
    const metadata = await sharp(answer.bytes, { animated: true }).metadata();
    return { format: metadata.format, width: metadata.width, height: metadata.pageHeight ?? metadata.height, pages: metadata.pages ?? 1 };
  };

  beforeAll(async () => {
    server = await startTestServer({ mode, file: { rate_limits: { login: false, registration: false, media_create: false } } });
    client = new MatrixClient(server.url);
    alice = await client.register('alice');
    bob = await client.register('bob');
    admin = await client.registerWithSharedSecret(server.registrationSharedSecret, 'root', { admin: true });
  });
  afterAll(() => server?.stop());

  it('thumbnails PNG, JPEG, GIF and WebP at several sizes by scale and crop, never larger than the original, with the safety headers', async () => {
    for (const image of await imageFixtures(400, 300)) {
      const mediaPath = await upload(alice, image.bytes, image.contentType);
      const type = THUMBNAIL_TYPE[image.contentType]!;
      const format = type === 'image/png' ? 'png' : 'jpeg';
      for (const [query, width, height] of [
        ['width=32&height=32&method=crop', 32, 32],
        ['width=96&height=96&method=crop', 96, 96],
        ['width=320&height=240&method=scale', 320, 240],
        ['width=150&height=150&method=crop', 150, 150],
        ['width=100&height=50&method=crop', 100, 50],
        ['width=1000&height=1000&method=scale', 400, 300],
        ['width=2000&height=1000&method=crop', 400, 200],
      ] as const) {
        const answer = await thumbnail(bob, mediaPath, query);
        expect({ image: image.name, query, ...await imageOf(answer) }).toEqual({ image: image.name, query, format, width, height, pages: 1 });
        expect(answer.headers.get('content-type')).toBe(type);
        expect(answer.headers.get('content-disposition')).toBe(`inline; filename=thumbnail.${format === 'png' ? 'png' : 'jpg'}`);
        expect(answer.headers.get('content-security-policy')).toBe(MEDIA_CONTENT_SECURITY_POLICY);
        expect(answer.headers.get('x-content-type-options')).toBe('nosniff');
        expect(answer.headers.get('cross-origin-resource-policy')).toBe('cross-origin');
      }
      // `method` defaults to scale.
      expect(await imageOf(await thumbnail(bob, mediaPath, 'width=200&height=200'))).toMatchObject({ width: 320, height: 240 });
    }
  });

  it('makes the configured sizes at upload and serves them; another size is rendered once and kept', async () => {
    const [png] = await imageFixtures(1000, 500);
    const before = await blobCount();
    const mediaPath = await upload(alice, png!.bytes, 'image/png');
    // The original and 32×32, 96×96 crops, 320×160, 640×320, 800×400 scales.
    expect(await blobCount()).toBe(before + 6);
    // A smaller crop is answered with the 96×96 one, a smaller scale with the 320×160 one: nothing new is kept.
    expect(await imageOf(await thumbnail(bob, mediaPath, 'width=64&height=64&method=crop'))).toMatchObject({ width: 96, height: 96 });
    expect(await imageOf(await thumbnail(bob, mediaPath, 'width=100&height=100&method=scale'))).toMatchObject({ width: 320, height: 160 });
    expect(await blobCount()).toBe(before + 6);
    const first = await thumbnail(bob, mediaPath, 'width=250&height=125&method=crop');
    expect(await imageOf(first)).toMatchObject({ width: 250, height: 125 });
    expect(await blobCount()).toBe(before + 7);
    const again = await Promise.all([1, 2, 3].map(() => thumbnail(alice, mediaPath, 'width=250&height=125&method=crop')));
    for (const answer of again) expect(answer.bytes.equals(first.bytes)).toBe(true);
    expect(await blobCount()).toBe(before + 7);
  });

  it('keeps an animated GIF or WebP animated (as WebP) only when asked animated=true', async () => {
    const frames = await Promise.all(['red', 'green', 'blue'].map((background) =>
      sharp({ create: { width: 120, height: 80, channels: 3, background } }).png().toBuffer()));
    const gif = await sharp(frames, { join: { animated: true } }).gif({ delay: [100, 100, 100], loop: 0 }).toBuffer();
    const webp = await sharp(frames, { join: { animated: true } }).webp().toBuffer();
    for (const [bytes, type, still] of [[gif, 'image/gif', 'png'], [webp, 'image/webp', 'jpeg']] as const) {
      const mediaPath = await upload(alice, bytes, type);
      const animated = await thumbnail(bob, mediaPath, 'width=60&height=40&method=scale&animated=true');
      expect(animated.headers.get('content-type')).toBe('image/webp');
      expect(await imageOf(animated)).toEqual({ format: 'webp', width: 60, height: 40, pages: 3 });
      expect(await imageOf(await thumbnail(bob, mediaPath, 'width=60&height=40&method=crop&animated=false'))).toEqual({ format: still, width: 60, height: 40, pages: 1 });
      // The still 120×80 scale made at upload answers a smaller scale.
      expect(await imageOf(await thumbnail(bob, mediaPath, 'width=60&height=40&method=scale'))).toEqual({ format: still, width: 120, height: 80, pages: 1 });
      expect(await imageOf(await thumbnail(bob, mediaPath, 'width=30&height=30&method=crop'))).toEqual({ format: still, width: 32, height: 32, pages: 1 });
    }
    // A still image asked animated=true is thumbnailed as though false.
    const [png] = await imageFixtures(100, 100);
    const mediaPath = await upload(alice, png!.bytes, 'image/png');
    const answer = await thumbnail(bob, mediaPath, 'width=50&height=50&method=crop&animated=true');
    expect([answer.headers.get('content-type'), (await imageOf(answer)).pages]).toEqual(['image/png', 1]);
  });

  it('applies a JPEG\'s EXIF orientation', async () => {
    const jpeg = await sharp({ create: { width: 400, height: 200, channels: 3, background: 'red' } }).jpeg().withMetadata({ orientation: 6 }).toBuffer();
    const mediaPath = await upload(alice, jpeg, 'image/jpeg');
    expect(await imageOf(await thumbnail(bob, mediaPath, 'width=100&height=100&method=scale'))).toMatchObject({ width: 120, height: 240 });
    expect(await imageOf(await thumbnail(bob, mediaPath, 'width=50&height=100&method=crop'))).toMatchObject({ width: 50, height: 100 });
  });

  it('refuses bad parameters, unknown media, what is no image, a lying file and a decompression bomb', async () => {
    const [png] = await imageFixtures(64, 48);
    const mediaPath = await upload(alice, png!.bytes, 'image/png');
    expectError(await thumbnail(bob, mediaPath, 'height=32'), 400, 'M_MISSING_PARAM');
    for (const query of ['width=abc&height=32', 'width=-1&height=32', 'width=0&height=32', 'width=32&height=1.5', 'width=32&height=32&method=zoom',
      'width=32&height=32&animated=maybe', 'width=32&width=64&height=32']) {
      expectError(await thumbnail(bob, mediaPath, query), 400, 'M_INVALID_PARAM');
    }
    expectError(await thumbnail(bob, `${server.serverName}/nosuchmedia`, 'width=32&height=32'), 404, 'M_NOT_FOUND');
    expectError(await thumbnail(bob, `${server.serverName}/${e('../strata.yaml')}`, 'width=32&height=32'), 404, 'M_NOT_FOUND');
    const text = await upload(alice, Buffer.from('plain text'), 'text/plain');
    expectError(await thumbnail(bob, text, 'width=32&height=32'), 400, 'M_UNKNOWN');
    const lying = await upload(alice, Buffer.from('this is no PNG at all'), 'image/png');
    expectError(await thumbnail(bob, lying, 'width=32&height=32'), 400, 'M_UNKNOWN');
    const truncated = await upload(alice, png!.bytes.subarray(0, png!.bytes.length / 2), 'image/png');
    expectError(await thumbnail(bob, truncated, 'width=32&height=32'), 400, 'M_UNKNOWN');
    // 36M pixels of one colour: a small file that Synapse's default max_image_pixels (32M) refuses.
    const bomb = await sharp({ create: { width: 6000, height: 6000, channels: 3, background: 'white' } }).png({ compressionLevel: 9 }).toBuffer();
    const bombPath = await upload(alice, bomb, 'image/png');
    const refused = await thumbnail(bob, bombPath, 'width=32&height=32&method=crop');
    expectError(refused, 413, 'M_TOO_LARGE');
    expect(refused.headers.get('content-security-policy')).toBe(MEDIA_CONTENT_SECURITY_POLICY);
    // Still served whole.
    expect((await send('GET', `${CLIENT_MEDIA}/download/${bombPath}`, { token: bob.accessToken })).status).toBe(200);
  });

  it('needs an access token, and answers nothing of new media on the legacy endpoint', async () => {
    const [png] = await imageFixtures(64, 48);
    const mediaPath = await upload(alice, png!.bytes, 'image/png');
    expectError(await thumbnail(undefined, mediaPath, 'width=32&height=32'), 401, 'M_MISSING_TOKEN');
    expectError(await thumbnail(undefined, mediaPath, 'width=32&height=32', LEGACY_MEDIA), 404, 'M_NOT_FOUND');
    expectError(await thumbnail(bob, mediaPath, 'width=32&height=32', LEGACY_MEDIA), 404, 'M_NOT_FOUND');
  });

  it('waits for an asynchronous upload\'s content as downloads do (timeout_ms)', async () => {
    const created = await send('POST', '/_matrix/media/v1/create', { token: alice.accessToken });
    const mediaPath = (created.json!.content_uri as string).slice('mxc://'.length);
    expectError(await thumbnail(bob, mediaPath, 'width=32&height=32&timeout_ms=0'), 504, 'M_NOT_YET_UPLOADED');
    const waiting = thumbnail(bob, mediaPath, 'width=40&height=30&method=crop&timeout_ms=20000');
    await new Promise((resolve) => setTimeout(resolve, 200));
    const [png] = await imageFixtures(400, 300);
    const put = await send('PUT', `${LEGACY_MEDIA}/upload/${mediaPath}`, { token: alice.accessToken, body: png!.bytes, type: 'image/png' });
    expect(put.status).toBe(200);
    expect(await imageOf(await waiting)).toEqual({ format: 'png', width: 40, height: 30, pages: 1 });
  });

  it('lets a matrix-js-sdk client fetch the thumbnail of an image another uploaded', async () => {
    quietSdkRootLogger();
    const logger = recordingSdkLogger();
    const [jpeg] = (await imageFixtures(640, 480)).filter((image) => image.contentType === 'image/jpeg');
    const { content_uri: mxc } = await sdkClientFor(server.url, alice, logger)
      .uploadContent(new Blob([jpeg!.bytes], { type: 'image/jpeg' }), { name: 'photo.jpg', type: 'image/jpeg' });
    // As Element asks for an avatar: 96×96 crop, authenticated.
    const url = sdkClientFor(server.url, bob, logger).mxcUrlToHttp(mxc, 96, 96, 'crop', false, true, true);
    expect(url).toContain(`${CLIENT_MEDIA}/thumbnail/`);
    const response = await fetch(url!, { headers: { authorization: `Bearer ${bob.accessToken}` } });
    const answer: Answer = { status: response.status, headers: response.headers, bytes: Buffer.from(await response.arrayBuffer()), json: undefined };
    expect(await imageOf(answer)).toEqual({ format: 'jpeg', width: 96, height: 96, pages: 1 });
    expect(response.headers.get('content-type')).toBe('image/jpeg');
  });

  it('forgets a media\'s thumbnails and their files when an administrator deletes it', async () => {
    const before = await blobCount();
    const [jpeg] = (await imageFixtures(500, 400)).filter((image) => image.contentType === 'image/jpeg');
    const mediaPath = await upload(alice, jpeg!.bytes, 'image/jpeg');
    expect((await thumbnail(bob, mediaPath, 'width=123&height=45&method=crop')).status).toBe(200);
    expect(await blobCount()).toBeGreaterThan(before + 1);
    const deleted = await send('DELETE', `/_synapse/admin/v1/media/${mediaPath}`, { token: admin.accessToken });
    expect(deleted.status).toBe(200);
    expectError(await thumbnail(bob, mediaPath, 'width=32&height=32&method=crop'), 404, 'M_NOT_FOUND');
    expect(await blobCount()).toBe(before);
  });
});
